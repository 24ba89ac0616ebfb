using TraceSeal.Cli.Commands;
using TraceSeal.Verify.Config;
using TraceSeal.Verify.Findings;
using TraceSeal.Verify.Tests.Support;

namespace TraceSeal.Verify.Tests;

/// <summary>
/// `verify config`, one row per finding of issue 13 and per rule it added or changed: the YAML, which collector it is
/// for, the rule, the expected verdict and the expected line. Rows that need real files get {dir}, a directory with
/// a test PKI (ca.crt, server.crt, server.key). The loader is the collector's own, as the CLI wires it.
/// </summary>
public sealed class ConfigRuleTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    /// <summary>A file of Configs/, or "seed1": the corpus's copy of seed 1's receiver block as written (no service
    /// section, files that do not exist here).</summary>
    private static string Load(string name) => File.ReadAllText(name == "seed1"
        ? Path.Combine(ConfigCorpusTests.CorpusDir, "01-seed1-receiver.yaml")
        : Path.Combine(AppContext.BaseDirectory, "Configs", name));

    private static string Extensions(string body) => $"extensions:\n{body}\nservice:\n  extensions: []\n";

    private static string Exporter(string body) => $"exporters:\n{body}\n";

    public static TheoryData<string, string, string, string, string, string> Cases() => new()
    {
        // Issue 13: the seed's YAML as written gave 0 fail while `traceseal collector --config` refused it.
        { "seed 1 as written: loader errors are findings", Load("seed1"), "auto", "TS-CFG-020", "fail", "receivers::otlp::protocols::http::tls::cert_file: " },
        { "seed 1 as written: no pipelines, memory_limiter not checked", Load("seed1"), "auto", "TS-CFG-010", "not checked",
            "no service.pipelines: there is no pipeline to check (neither collector runs without one)" },
        { "seed 1 as written: memory_limiter order not checked", Load("seed1"), "auto", "TS-CFG-011", "not checked", "no service.pipelines: there is no pipeline to check" },
        { "seed 1 as written: no exporters", Load("seed1"), "auto", "TS-CFG-006", "not checked", "no exporters section" },
        { "seed 1: TraceSeal reloads", Load("seed1"), "auto", "TS-CFG-008", "pass",
            "TraceSeal watches cert_file, key_file and client_ca_file and reloads them (reload_interval only sets the poll interval)" },
        { "seed 1 for upstream: reload_interval", Load("seed1"), "upstream", "TS-CFG-008", "warn",
            "receivers.otlp.protocols.http.tls has no reload_interval: the upstream collector serves the old certificate until it restarts (TraceSeal would reload it without)" },
        { "seed 1 for upstream: loader not run", Load("seed1"), "upstream", "TS-CFG-020", "not checked",
            "--collector upstream: linted for the upstream OpenTelemetry Collector, TraceSeal's loader not run" },
        { "upstream components: linted as upstream", Load("upstream-components.yaml"), "auto", "TS-CFG-020", "not checked",
            "uses components `traceseal collector` does not run (exporters::prometheusremotewrite: unknown exporter type \"prometheusremotewrite\"" },
        { "upstream components forced to traceseal", Load("upstream-components.yaml"), "traceseal", "TS-CFG-020", "fail", "exporters::prometheusremotewrite: unknown exporter type" },
        { "a config traceseal runs", Load("traceseal-runs.yaml"), "auto", "TS-CFG-020", "pass",
            "the collector's loader accepts it: every component and key known, every referenced file present" },
        { "a config traceseal runs: memory_limiter", Load("traceseal-runs.yaml"), "auto", "TS-CFG-010", "pass", "1 pipeline(s), each with a memory_limiter" },
        { "a config traceseal runs: no batch processor", Load("traceseal-runs.yaml"), "auto", "TS-CFG-012", "not checked", "no batch processor" },
        { "a config traceseal runs: no sealed_store", Load("traceseal-runs.yaml"), "auto", "TS-CFG-019", "not checked", "no sealed_store exporter" },

        // Issue 13: pprof on 0.0.0.0:1777 and zpages on 0.0.0.0:55679 were not flagged.
        { "pprof on every interface", Extensions("  pprof:\n    endpoint: 0.0.0.0:1777"), "upstream", "TS-CFG-021", "fail",
            "extensions.pprof.endpoint 0.0.0.0:1777 is not loopback: it serves heap and goroutine dumps (span data in memory included) in plaintext to anyone who reaches it" },
        { "zpages on every interface", Extensions("  zpages:\n    endpoint: 0.0.0.0:55679"), "upstream", "TS-CFG-021", "fail",
            "extensions.zpages.endpoint 0.0.0.0:55679 is not loopback: it serves sampled spans with their attributes in plaintext to anyone who reaches it" },
        { "health_check on every interface", Extensions("  health_check:\n    endpoint: 0.0.0.0:13133"), "upstream", "TS-CFG-021", "warn",
            "extensions.health_check.endpoint 0.0.0.0:13133 is not loopback: it serves the collector's status in plaintext to anyone who reaches it" },
        { "pprof on a pod IP", Extensions("  pprof:\n    endpoint: ${env:MY_POD_IP}:1777"), "upstream", "TS-CFG-021", "fail",
            "extensions.pprof.endpoint ${env:MY_POD_IP}:1777 is not loopback" },
        { "pprof default (localhost)", Extensions("  pprof:"), "upstream", "TS-CFG-021", "pass",
            "1 extension(s): pprof, zpages and health_check (if any) on loopback" },
        { "zpages on loopback", Extensions("  zpages:\n    endpoint: 127.0.0.1:55679"), "upstream", "TS-CFG-021", "pass", "1 extension(s)" },
        { "no extensions", "receivers: {}\n", "upstream", "TS-CFG-021", "not checked", "no extensions section" },

        // debug exporter: keyed on the upstream shape (exporters: debug: verbosity: ...).
        { "debug verbosity detailed", Exporter("  debug:\n    verbosity: detailed"), "upstream", "TS-CFG-013", "warn",
            "exporters.debug (verbosity: detailed) copies span contents into the collector's log in plaintext" },
        { "debug verbosity normal", Exporter("  debug/one:\n    verbosity: normal"), "upstream", "TS-CFG-013", "warn",
            "exporters.debug/one (verbosity: normal) copies span contents into the collector's log in plaintext" },
        { "debug verbosity basic", Exporter("  debug:\n    verbosity: basic"), "upstream", "TS-CFG-013", "pass",
            "1 exporter(s): no debug/logging exporter above verbosity basic" },
        { "debug default verbosity (basic)", Exporter("  debug:"), "upstream", "TS-CFG-013", "pass", "1 exporter(s)" },
        { "logging default verbosity (normal)", Exporter("  logging:"), "upstream", "TS-CFG-013", "warn",
            "exporters.logging (verbosity normal by default) copies span contents into the collector's log in plaintext" },
        { "logging loglevel debug", Exporter("  logging:\n    loglevel: debug"), "upstream", "TS-CFG-013", "warn",
            "exporters.logging (loglevel: debug) copies span contents" },

        { "traceseal's debug exporter opted in to detailed: loads", Load("traceseal-debug-detailed.yaml"), "auto", "TS-CFG-020", "pass",
            "the collector's loader accepts it" },
        { "traceseal's debug exporter opted in to detailed: reported", Load("traceseal-debug-detailed.yaml"), "auto", "TS-CFG-013", "warn",
            "exporters.debug (verbosity: detailed) copies span contents into the collector's log in plaintext" },

        // Messages that match what TraceSeal does.
        { "ca_file on a server", "receivers:\n  otlp:\n    protocols:\n      http:\n        tls:\n          cert_file: s.crt\n          ca_file: ca.crt\n",
            "upstream", "TS-CFG-003", "fail",
            "receivers.otlp.protocols.http.tls has ca_file but no client_ca_file: neither upstream nor TraceSeal verifies clients with ca_file, any client may send" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Rule_Verdict_Line(string scenario, string yaml, string flavor, string rule, string expected, string line)
    {
        string file = Path.Combine(_pki.Dir, "otel.yaml");
        var report = ConfigLinter.Lint(yaml.Replace("{dir}", _pki.Dir, StringComparison.Ordinal), file, VerifyCommand.CollectorLoader, Enum.Parse<ConfigFlavor>(flavor, ignoreCase: true));

        var results = report.Results.Where(r => r.Rule.Id == rule).ToList();
        Assert.True(results.Count > 0, $"{scenario}: no {rule} result");
        var result = results.Find(r => r.Message.StartsWith(line, StringComparison.Ordinal)) ?? results[0];
        Assert.True(expected == TraceSeal.Verify.Output.ReportWriter.OutcomeName(result.Outcome), $"{scenario}: {rule} is {result.Outcome}: {result.Message}");
        Assert.StartsWith(line, result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Seed1_as_written_fails_with_every_loader_error_at_its_line()
    {
        var report = ConfigLinter.Lint(Load("seed1"), "seed1.yaml", VerifyCommand.CollectorLoader);

        var loader = report.Results.Where(r => r.Rule.Id == "TS-CFG-020").ToList();
        Assert.True(loader.Count >= 2, string.Join("\n", loader.Select(r => r.Message)));
        Assert.All(loader, r => Assert.Equal(Outcome.Fail, r.Outcome));
        Assert.All(loader, r => Assert.True(r.Location!.Line >= 1));
        Assert.Equal(Report.ExitFindings, report.ExitCode(Outcome.Fail));
    }

    [Fact]
    public void Certificates_the_config_names_are_listed_with_their_expiry()
    {
        string file = Path.Combine(_pki.Dir, "otel.yaml");
        var report = ConfigLinter.Lint(Load("traceseal-runs.yaml").Replace("{dir}", _pki.Dir, StringComparison.Ordinal), file, VerifyCommand.CollectorLoader);

        Assert.Equal(
            [$"receivers.otlp.protocols.grpc.tls.cert_file={_pki.Dir}/server.crt localhost", $"receivers.otlp.protocols.grpc.tls.client_ca_file={_pki.Dir}/ca.crt Verify Test CA"],
            report.Certificates.Select(c => $"{c.Source} {c.Subject}"));
        Assert.All(report.Certificates, c => Assert.True(c.NotAfter > DateTimeOffset.UtcNow.AddDays(300)));
    }

    [Fact]
    public void Loader_errors_from_upstream_only_components_are_recognised()
    {
        Assert.True(ConfigLinter.IsForeignComponent(new LoaderError("f", 3, 3, "exporters::prometheusremotewrite", "unknown exporter type \"prometheusremotewrite\" (supported: otlp)")));
        Assert.False(ConfigLinter.IsForeignComponent(new LoaderError("f", 7, 11, "receivers::otlp::protocols::http::tls::cert_file", "file not found: /x")));
    }
}
