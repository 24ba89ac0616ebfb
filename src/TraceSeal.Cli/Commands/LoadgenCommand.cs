using System.CommandLine;
using TraceSeal.LoadGen;

namespace TraceSeal.Cli.Commands;

/// <summary>`traceseal loadgen`: OTLP trace load over mutual TLS, with throughput, latency percentiles and errors by status.</summary>
internal static class LoadgenCommand
{
    public static Command Create()
    {
        var endpoint = new Option<string>("--endpoint") { Description = "Receiver base URL, e.g. https://127.0.0.1:4317 (gRPC) or https://127.0.0.1:4318 (HTTP).", Required = true };
        var protocol = new Option<string>("--protocol") { Description = $"One of {LoadProtocols.SupportedText}.", DefaultValueFactory = _ => "grpc" };
        var ca = new Option<string>("--ca") { Description = "CA certificate (PEM) the server certificate must chain to; the system store is not used.", Required = true };
        var cert = new Option<string?>("--cert") { Description = "Client certificate (PEM) for mutual TLS." };
        var key = new Option<string?>("--key") { Description = "Private key (PEM) of --cert." };
        var duration = new Option<string>("--duration") { Description = "How long to send, e.g. 20s, 500ms, 2m.", DefaultValueFactory = _ => "20s" };
        var spans = new Option<int>("--spans-per-request") { Description = "Spans in each export request.", DefaultValueFactory = _ => 100 };
        var rate = new Option<double>("--rate") { Description = "Target requests per second over all connections; 0 = as fast as possible.", DefaultValueFactory = _ => 0 };
        var connections = new Option<int>("--connections") { Description = "Connections (each with its own TLS session).", DefaultValueFactory = _ => 4 };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight per connection (HTTP/2 streams).", DefaultValueFactory = _ => 4 };
        var attributes = new Option<int>("--attributes") { Description = "String attributes per span.", DefaultValueFactory = _ => 4 };
        var attributeBytes = new Option<int>("--attribute-bytes") { Description = "Length of each attribute value.", DefaultValueFactory = _ => 16 };
        var http11 = new Option<bool>("--http1.1") { Description = "Use HTTP/1.1 for http/protobuf and http/json (one connection per request in flight)." };
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object on stdout (progress still goes to stderr)." };
        var quiet = new Option<bool>("--quiet") { Description = "No progress line." };
        var cmd = new Command("loadgen", "Send OTLP traces over mutual TLS (gRPC, HTTP/protobuf, HTTP/JSON) and report spans/s, latency percentiles and errors by status.")
        {
            endpoint, protocol, ca, cert, key, duration, spans, rate, connections, concurrency, attributes, attributeBytes, http11, json, quiet,
        };
        cmd.SetAction((parse, ct) => CommandErrors.RunAsync(async () =>
        {
            if (!Uri.TryCreate(parse.GetValue(endpoint), UriKind.Absolute, out var uri))
            {
                return await UsageAsync($"--endpoint {parse.GetValue(endpoint)}: not an absolute URL; use e.g. https://127.0.0.1:4317").ConfigureAwait(false);
            }

            if (!LoadProtocols.TryParse(parse.GetValue(protocol), out var proto))
            {
                return await UsageAsync($"--protocol {parse.GetValue(protocol)}: use one of {LoadProtocols.SupportedText}").ConfigureAwait(false);
            }

            if (!DurationText.TryParse(parse.GetValue(duration), out var span))
            {
                return await UsageAsync($"--duration {parse.GetValue(duration)}: use e.g. 20s, 500ms or 2m").ConfigureAwait(false);
            }

            var options = new LoadOptions
            {
                Endpoint = uri,
                Protocol = proto,
                CaFile = parse.GetValue(ca)!,
                CertFile = parse.GetValue(cert),
                KeyFile = parse.GetValue(key),
                Duration = span,
                SpansPerRequest = parse.GetValue(spans),
                Rate = parse.GetValue(rate),
                Connections = parse.GetValue(connections),
                Concurrency = parse.GetValue(concurrency),
                AttributesPerSpan = parse.GetValue(attributes),
                AttributeBytes = parse.GetValue(attributeBytes),
                Http11 = parse.GetValue(http11),
            };
            var problems = options.Validate();
            if (problems.Count > 0)
            {
                return await UsageAsync(string.Join(Environment.NewLine + "error: ", problems)).ConfigureAwait(false);
            }

            var result = await LoadRunner.RunAsync(options, parse.GetValue(quiet) ? null : Console.Error, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                Console.WriteLine(LoadReport.ToJson(result));
            }
            else
            {
                Console.Write(LoadReport.ToText(result));
            }

            // Errors are a measurement, not a failure of the run; nothing acknowledged at all is (wrong endpoint, TLS).
            return result.Requests > 0 ? Program.ExitOk : Program.ExitFailure;
        }));
        return cmd;
    }

    private static async Task<int> UsageAsync(string message)
    {
        await Console.Error.WriteLineAsync($"error: {message}").ConfigureAwait(false);
        return Program.ExitUsage;
    }
}
