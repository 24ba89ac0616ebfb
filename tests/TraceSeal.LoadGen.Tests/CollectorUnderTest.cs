using System.Collections;
using System.Net;
using System.Reflection;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Otlp;

namespace TraceSeal.LoadGen.Tests;

/// <summary>
/// A real TraceSeal collector (config loader, Kestrel receivers with mTLS, discard exporter) in this process.
/// TraceSeal.Collector keeps its types internal and its InternalsVisibleTo list is not this project's to edit,
/// so the few calls go through reflection; once the list names TraceSeal.LoadGen.Tests they can be direct.
/// </summary>
internal sealed class CollectorUnderTest : IAsyncDisposable
{
    private static readonly Assembly Collector = Assembly.Load("TraceSeal.Collector");

    private readonly object _host;
    private readonly object _discard;

    private CollectorUnderTest(object host, object discard, IPEndPoint grpc, IPEndPoint http)
    {
        _host = host;
        _discard = discard;
        GrpcEndpoint = new Uri($"https://127.0.0.1:{grpc.Port}");
        HttpEndpoint = new Uri($"https://127.0.0.1:{http.Port}");
    }

    public Uri GrpcEndpoint { get; }

    public Uri HttpEndpoint { get; }

    /// <summary>Spans the discard exporter counted: only spans the pipeline accepted before acknowledging.</summary>
    public long SpansCounted => (long)_discard.GetType().GetMethod("Items")!.Invoke(_discard, [OtlpSignal.Traces])!;

    public static async Task<CollectorUnderTest> StartAsync(string certDir)
    {
        var yaml = $"""
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 127.0.0.1:0
                    tls: {Tls(certDir)}
                  http:
                    endpoint: 127.0.0.1:0
                    tls: {Tls(certDir)}
            exporters:
              discard: {"{}"}
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [discard]
            """;
        var config = Call(Type("Config.CollectorConfigLoader"), null, "Parse", yaml, Path.Combine(certDir, "collector.yaml"));
        var host = Call(Type("Hosting.CollectorHost"), null, "Create", config, NullLoggerFactory.Instance);
        await (Task)Call(host.GetType(), host, "StartAsync", CancellationToken.None);
        var receiver = ((IEnumerable)Get(host, "Receivers")).Cast<object>().Single();
        var exporters = Get(host, "Exporters");
        var discard = exporters.GetType().GetProperty("Item")!.GetValue(exporters, ["discard"])!;
        return new CollectorUnderTest(host, discard, (IPEndPoint)Get(receiver, "GrpcEndpoint"), (IPEndPoint)Get(receiver, "HttpEndpoint"));
    }

    public async ValueTask DisposeAsync() => await (ValueTask)Call(_host.GetType(), _host, "DisposeAsync");

    private static string Tls(string dir) =>
        $"{{ cert_file: {dir}/server.crt, key_file: {dir}/server.key, client_ca_file: {dir}/ca.crt }}";

    private static Type Type(string name) => Collector.GetType("TraceSeal.Collector." + name, throwOnError: true)!;

    private static object Get(object target, string property) => target.GetType().GetProperty(property)!.GetValue(target)!;

    /// <summary>Calls the one public method of that name that takes these arguments; optional parameters added later keep their defaults.</summary>
    private static object Call(Type type, object? target, string method, params object[] args)
    {
        var m = type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance)
            .Single(m => m.Name == method
                         && m.GetParameters().Length >= args.Length
                         && m.GetParameters().Skip(args.Length).All(p => p.HasDefaultValue));
        var all = m.GetParameters().Select((p, i) => i < args.Length ? args[i] : p.DefaultValue).ToArray();
        try
        {
            return m.Invoke(target, all)!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }
}
