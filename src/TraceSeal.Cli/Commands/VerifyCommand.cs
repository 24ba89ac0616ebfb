using System.CommandLine;
using System.Runtime.CompilerServices;
using TraceSeal.Collector.Config;
using TraceSeal.Verify;
using TraceSeal.Verify.Config;
using TraceSeal.Verify.Data;
using TraceSeal.Verify.Endpoint;
using TraceSeal.Verify.Env;
using TraceSeal.Verify.Evidence;
using TraceSeal.Verify.Findings;
using TraceSeal.Verify.Output;

// The verify tests drive `verify config` with the collector's real loader through CollectorLoader below.
[assembly: InternalsVisibleTo("TraceSeal.Verify.Tests")]

namespace TraceSeal.Cli.Commands;

/// <summary>`traceseal verify endpoint|config|env|data|report`: the seeds' verification checklist. Exit 0 clean,
/// 1 when a finding reaches --fail-on, 2 on usage errors (bad flags, missing files).</summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var verify = new Command("verify", "Check that nothing leaks in plaintext: live endpoints, collector configs (TraceSeal or upstream), an app's OTEL_EXPORTER_OTLP_* environment, stored data; `verify report` does all of it and writes an HTML + JSON evidence report.");
        verify.Subcommands.Add(Endpoint());
        verify.Subcommands.Add(Config());
        verify.Subcommands.Add(Env());
        verify.Subcommands.Add(Data());
        verify.Subcommands.Add(ReportCommand());
        return verify;
    }

    /// <summary>`traceseal collector`'s own loader, with its file checks: what it refuses, verify reports.</summary>
    internal static readonly CollectorLoader CollectorLoader = (yaml, path) =>
    {
        try
        {
            CollectorConfigLoader.Parse(yaml, path);
            return [];
        }
        catch (ConfigException e)
        {
            return e.Errors.Select(x => new LoaderError(x.File, x.Line, x.Column, x.KeyPath, x.Message)).ToList();
        }
    };

    private static Command Endpoint()
    {
        var address = new Argument<string>("HOST:PORT|URL") { Description = "Collector endpoint, e.g. collector.internal:4317 or https://collector.internal:4318." };
        var ca = new Option<string?>("--ca") { Description = "CA bundle the server certificate must chain to (only this CA is trusted, not the system store)." };
        var cert = new Option<string?>("--cert") { Description = "Client certificate (PEM) for the OTLP export check." };
        var key = new Option<string?>("--key") { Description = "Private key (PEM) of --cert." };
        var serverName = new Option<string?>("--server-name") { Description = "Name to verify in the server certificate and send as SNI (default: the host)." };
        var protocol = new Option<string?>("--protocol") { Description = "grpc or http: what the endpoint must serve. Without it the transport is probed (ALPN and a request), never guessed from the port." };
        protocol.AcceptOnlyFromAmong("grpc", "http");
        var timeout = new Option<int>("--timeout") { Description = "Seconds per network step.", DefaultValueFactory = _ => 5 };
        var cmd = new Command("endpoint", "Probe a live endpoint: plaintext refused, TLS 1.2+, transport (gRPC or OTLP/HTTP), certificate chain/name/expiry/key, TLS 1.0/1.1 refused, mTLS enforced, OTLP export with your client certificate.")
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

    private static Option<string> CollectorOption()
    {
        var collector = new Option<string>("--collector")
        {
            Description = "Which collector runs this config: traceseal (run `traceseal collector`'s loader first; its errors are findings), upstream (lint only), or auto (traceseal unless it uses components TraceSeal does not run).",
            DefaultValueFactory = _ => "auto",
        };
        collector.AcceptOnlyFromAmong("auto", "traceseal", "upstream");
        return collector;
    }

    private static ConfigFlavor Flavor(string value) => value switch
    {
        "traceseal" => ConfigFlavor.TraceSeal,
        "upstream" => ConfigFlavor.Upstream,
        _ => ConfigFlavor.Auto,
    };

    private static Command Config()
    {
        var file = new Argument<string>("FILE") { Description = "OpenTelemetry Collector YAML (TraceSeal's or upstream's)." };
        var collector = CollectorOption();
        var cmd = new Command("config", "Lint collector YAML for plaintext receivers, missing mTLS, insecure exporters, plaintext spill to disk, exposed debug endpoints, unbounded memory; a TraceSeal config is first loaded by the collector's own loader.") { file, collector };
        return WithOutput(cmd, parse => _ => Task.FromResult(ConfigLinter.LintFile(parse.GetValue(file)!, CollectorLoader, Flavor(parse.GetValue(collector)!))));
    }

    private static Command Env()
    {
        var envFile = new Option<string?>("--env-file") { Description = "Check the OTEL_EXPORTER_OTLP_* lines of this file (NAME=VALUE or export NAME=VALUE) instead of the current environment." };
        var cmd = new Command("env", "Check OTEL_EXPORTER_OTLP_* (and the signal variants) as an app would resolve them, and contact the endpoint: certificate names, transport against OTEL_EXPORTER_OTLP_PROTOCOL.") { envFile };
        return WithOutput(cmd, parse => ct =>
        {
            string? path = parse.GetValue(envFile);
            var variables = path is null ? EnvChecker.FromProcess() : EnvChecker.FromFile(path);
            return EnvChecker.CheckAsync(variables, DateTimeOffset.UtcNow, null, ct, path is null ? "environment" : path);
        });
    }

    private static Command Data()
    {
        var target = new Argument<string>("DIR|s3://BUCKET/PREFIX") { Description = "Directory a collector writes to (sealed store, WAL, queue, spill directory), or the s3://BUCKET/PREFIX of sealed_store::s3. For a `traceseal up` directory give its data/ subdirectory." };
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

    private static Command ReportCommand()
    {
        var upDir = new Option<string?>("--up-dir") { Description = "A `traceseal up` directory: its collector.yaml, receivers (with its CA and client certificate), app settings and data/ (default: .traceseal when it exists and nothing else is given)." };
        var endpoints = new Option<string[]>("--endpoint") { Description = "Endpoint to probe (repeatable), HOST:PORT or URL.", AllowMultipleArgumentsPerToken = false };
        var ca = new Option<string?>("--ca") { Description = "CA bundle for --endpoint." };
        var cert = new Option<string?>("--cert") { Description = "Client certificate for --endpoint." };
        var key = new Option<string?>("--key") { Description = "Private key of --cert." };
        var configs = new Option<string[]>("--config") { Description = "Collector config to lint (repeatable)." };
        var envFile = new Option<string?>("--env-file") { Description = "App settings to check (NAME=VALUE lines); default: the current environment." };
        var data = new Option<string[]>("--data") { Description = "Data directory or s3://BUCKET/PREFIX to scan (repeatable)." };
        var output = new Option<string>("--out") { Description = "Directory for report.html and report.json.", DefaultValueFactory = _ => "traceseal-report" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds per network step.", DefaultValueFactory = _ => 5 };
        var failOn = new Option<string>("--fail-on") { Description = "Exit 1 when a result is at least this bad: warn or fail.", DefaultValueFactory = _ => "fail" };
        failOn.AcceptOnlyFromAmong(ReportWriter.FailOnNames);
        var cmd = new Command("report", "Run every applicable check in one go (endpoints, configs, the app's environment, data stores) and write a self-contained HTML evidence report plus JSON.")
        {
            upDir, endpoints, ca, cert, key, configs, envFile, data, output, timeout, failOn,
        };
        cmd.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            try
            {
                var plan = Plan(parse, upDir, endpoints, ca, cert, key, configs, envFile, data, TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(timeout))));
                var runs = await EvidenceRunner.RunAsync(plan, CollectorLoader, ct).ConfigureAwait(false);
                var context = EvidenceContext.Current("traceseal " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1))) with
                {
                    ToolVersion = EvidenceContext.ToolVersionOf(typeof(VerifyCommand).Assembly),
                };
                var written = EvidenceReport.Write(parse.GetValue(output)!, context, runs);
                foreach (var run in runs)
                {
                    var r = run.Report;
                    Console.WriteLine($"verify {r.Command} {r.Target}: {r.Count(Outcome.Fail)} fail, {r.Count(Outcome.Warn)} warn, {r.Count(Outcome.Pass)} pass, {r.Count(Outcome.NotChecked)} not checked");
                }

                Console.WriteLine();
                Console.WriteLine(EvidenceHtml.Verdict(EvidenceJson.Worst(runs)));
                Console.WriteLine($"wrote {written.HtmlPath} and {written.JsonPath} (SHA-256 {written.Sha256})");
                var threshold = ReportWriter.ParseFailOn(parse.GetValue(failOn)!);
                return runs.Any(r => r.Report.ExitCode(threshold) != Report.ExitClean) ? Report.ExitFindings : Report.ExitClean;
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or ArgumentException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
                return Report.ExitUsage;
            }
        });
        return cmd;
    }

    private static EvidencePlan Plan(ParseResult parse, Option<string?> upDir, Option<string[]> endpoints, Option<string?> ca, Option<string?> cert, Option<string?> key,
        Option<string[]> configs, Option<string?> envFile, Option<string[]> data, TimeSpan timeout)
    {
        var plan = new EvidencePlan();
        string? envPath = parse.GetValue(envFile);
        var environment = envPath is null ? EnvChecker.FromProcess() : EnvChecker.FromFile(envPath);
        string[] endpointList = parse.GetValue(endpoints) ?? [];
        string[] configList = parse.GetValue(configs) ?? [];
        string[] dataList = parse.GetValue(data) ?? [];
        string? dir = parse.GetValue(upDir);
        bool nothingGiven = endpointList.Length == 0 && configList.Length == 0 && dataList.Length == 0;
        if (dir is null && nothingGiven && DataScanner.UpStoreOf(".traceseal") is not null)
        {
            dir = ".traceseal";
        }

        if (dir is not null)
        {
            plan.AddUpDirectory(dir, environment, timeout);
        }

        foreach (string endpoint in endpointList)
        {
            plan.Endpoints.Add(new EndpointOptions(EndpointTarget.Parse(endpoint))
            {
                CaFile = parse.GetValue(ca),
                CertFile = parse.GetValue(cert),
                KeyFile = parse.GetValue(key),
                Timeout = timeout,
            });
        }

        plan.Configs.AddRange(configList);
        foreach (string store in dataList)
        {
            plan.DataStores.Add(DataScanner.UpStoreOf(store) ?? store);
        }

        if (plan.Environment is null)
        {
            plan.Environment = environment;
            plan.EnvironmentSource = envPath ?? "the current environment";
        }

        return plan;
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
