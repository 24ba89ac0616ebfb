using System.CommandLine;
using TraceSeal.Verify;
using TraceSeal.Verify.Config;
using TraceSeal.Verify.Data;
using TraceSeal.Verify.Endpoint;
using TraceSeal.Verify.Env;
using TraceSeal.Verify.Output;

namespace TraceSeal.Cli.Commands;

/// <summary>`traceseal verify endpoint|config|env|data`: the seeds' verification checklist. Exit 0 clean,
/// 1 when a finding reaches --fail-on, 2 on usage errors (bad flags, missing files).</summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var verify = new Command("verify", "Check that nothing leaks in plaintext: live endpoints, collector configs (TraceSeal or upstream), an app's OTEL_EXPORTER_OTLP_* environment, stored data.");
        verify.Subcommands.Add(Endpoint());
        verify.Subcommands.Add(Config());
        verify.Subcommands.Add(Env());
        verify.Subcommands.Add(Data());
        return verify;
    }

    private static Command Endpoint()
    {
        var address = new Argument<string>("HOST:PORT|URL") { Description = "Collector endpoint, e.g. collector.internal:4317 or https://collector.internal:4318." };
        var ca = new Option<string?>("--ca") { Description = "CA bundle the server certificate must chain to (only this CA is trusted, not the system store)." };
        var cert = new Option<string?>("--cert") { Description = "Client certificate (PEM) for the OTLP export check." };
        var key = new Option<string?>("--key") { Description = "Private key (PEM) of --cert." };
        var serverName = new Option<string?>("--server-name") { Description = "Name to verify in the server certificate and send as SNI (default: the host)." };
        var protocol = new Option<string?>("--protocol") { Description = "grpc or http (default: grpc on port 4317, else http)." };
        protocol.AcceptOnlyFromAmong("grpc", "http");
        var timeout = new Option<int>("--timeout") { Description = "Seconds per network step.", DefaultValueFactory = _ => 5 };
        var cmd = new Command("endpoint", "Probe a live endpoint: plaintext refused, TLS 1.2+, certificate chain/name/expiry/key, TLS 1.0/1.1 refused, mTLS enforced, OTLP export with your client certificate.")
        {
            address, ca, cert, key, serverName, protocol, timeout,
        };
        return WithOutput(cmd, parse => ct => EndpointVerifier.VerifyAsync(
            new EndpointOptions(EndpointTarget.Parse(parse.GetValue(address)!, parse.GetValue(serverName), parse.GetValue(protocol)))
            {
                CaFile = parse.GetValue(ca),
                CertFile = parse.GetValue(cert),
                KeyFile = parse.GetValue(key),
                Timeout = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(timeout))),
            },
            ct));
    }

    private static Command Config()
    {
        var file = new Argument<string>("FILE") { Description = "OpenTelemetry Collector YAML (TraceSeal's or upstream's)." };
        var cmd = new Command("config", "Lint collector YAML for plaintext receivers, missing mTLS, insecure exporters, plaintext spill to disk, unbounded memory.") { file };
        return WithOutput(cmd, parse => _ => Task.FromResult(ConfigLinter.LintFile(parse.GetValue(file)!)));
    }

    private static Command Env()
    {
        var cmd = new Command("env", "Check OTEL_EXPORTER_OTLP_* (and the TRACES variants) as an app would resolve them.");
        return WithOutput(cmd, _ => ct => EnvChecker.CheckAsync(EnvChecker.FromProcess(), DateTimeOffset.UtcNow, null, ct));
    }

    private static Command Data()
    {
        var target = new Argument<string>("DIR|s3://BUCKET/PREFIX") { Description = "Directory a collector writes to (sealed store, WAL, queue, spill directory), or the s3://BUCKET/PREFIX of sealed_store::s3." };
        var s3Endpoint = new Option<string?>("--s3-endpoint") { Description = "With s3://: the endpoint URL of an S3-compatible server (MinIO, Ceph); default AWS." };
        var s3Region = new Option<string?>("--s3-region") { Description = "With s3://: the region (default: the AWS SDK's, or us-east-1 with --s3-endpoint)." };
        var s3PathStyle = new Option<bool>("--s3-path-style") { Description = "With s3://: path-style addressing (MinIO and most self-hosted servers need it)." };
        var cmd = new Command("data", "Check that every stored file or object is sealed and none holds plaintext OTLP; permissions 0700/0600 for a directory, server-side encryption (advisory) for s3://.")
        {
            target, s3Endpoint, s3Region, s3PathStyle,
        };
        return WithOutput(cmd, parse => ct => DataScanner.VerifyAsync(
            parse.GetValue(target)!, parse.GetValue(s3Endpoint), parse.GetValue(s3Region), parse.GetValue(s3PathStyle), ct));
    }

    private static Command WithOutput(Command cmd, Func<ParseResult, Func<CancellationToken, Task<TraceSeal.Verify.Findings.Report>>> check)
    {
        var format = new Option<string>("--format") { Description = "text, json or sarif (SARIF 2.1.0 for CI code scanning).", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong(ReportWriter.FormatNames);
        var failOn = new Option<string>("--fail-on") { Description = "Exit 1 when a result is at least this bad: warn or fail.", DefaultValueFactory = _ => "fail" };
        failOn.AcceptOnlyFromAmong(ReportWriter.FailOnNames);
        cmd.Options.Add(format);
        cmd.Options.Add(failOn);
        cmd.SetAction((ParseResult parse, CancellationToken ct) => VerifyRunner.RunAsync(
            innerCt => check(parse)(innerCt), parse.GetValue(format)!, parse.GetValue(failOn)!, Console.Out, Console.Error, ct));
        return cmd;
    }
}
