using TraceSeal.Pki;
using TraceSeal.Verify.Env;
using TraceSeal.Verify.Findings;
using TraceSeal.Verify.Tests.Support;

namespace TraceSeal.Verify.Tests;

public sealed class EnvCheckerTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public void SeedEnvironment_Passes()
    {
        var report = Check(new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "https://collector.internal:4318",
            ["OTEL_EXPORTER_OTLP_CERTIFICATE"] = _pki.CaFile,
            ["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"] = _pki.ClientCertFile,
            ["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = _pki.ClientKeyFile,
            ["OTEL_EXPORTER_OTLP_INSECURE"] = "false",
        });
        Assert.All(report.Results.Where(r => r.Rule.Id != "TS-ENV-007"), r => Assert.True(r.Outcome == Outcome.Pass, $"{r.Rule.Id}: {r.Message}"));
        Assert.Equal(Outcome.NotChecked, Single(report, "TS-ENV-007").Outcome);
        Assert.Equal("offline check: the endpoint was not contacted", Single(report, "TS-ENV-007").Message);
    }

    [Fact]
    public void TracesVariant_WinsOverGeneral()
    {
        var report = Check(new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "https://collector.internal:4318",
            ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://collector.internal:4318/v1/traces",
            ["OTEL_EXPORTER_OTLP_CERTIFICATE"] = _pki.CaFile,
        });
        var finding = Assert.Single(report.Results, r => r.Outcome is Outcome.Warn or Outcome.Fail);
        Assert.Equal("TS-ENV-001", finding.Rule.Id);
        Assert.Equal("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (overrides OTEL_EXPORTER_OTLP_ENDPOINT)=http://collector.internal:4318/v1/traces: spans are sent in plaintext", finding.Message);
    }

    [Fact]
    public void Insecure_HttpsWithoutCa_KeyWithoutCert()
    {
        var report = Check(new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "https://collector.internal:4318",
            ["OTEL_EXPORTER_OTLP_TRACES_INSECURE"] = "true",
            ["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = _pki.ClientKeyFile,
        });
        Assert.Equal(["TS-ENV-002", "TS-ENV-003", "TS-ENV-004"], Findings(report));
    }

    [Fact]
    public void MismatchedKey_AndExpiredCertificate_AndMissingFile()
    {
        using var old = DevPki.IssueClient(_pki.Ca, "old", validity: TimeSpan.FromDays(1), notBefore: DateTimeOffset.UtcNow.AddDays(-10));
        string oldCert = Path.Combine(_pki.Dir, "old.crt");
        old.WriteFiles(oldCert, Path.Combine(_pki.Dir, "old.key"));

        var mismatch = Check(new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "https://collector.internal:4318",
            ["OTEL_EXPORTER_OTLP_CERTIFICATE"] = _pki.CaFile,
            ["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"] = _pki.ClientCertFile,
            ["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = _pki.ServerKeyFile,
        });
        Assert.Equal(["TS-ENV-004"], Findings(mismatch));

        var expired = Check(new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "https://collector.internal:4318",
            ["OTEL_EXPORTER_OTLP_CERTIFICATE"] = "/nonexistent/ca.crt",
            ["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"] = oldCert,
            ["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = Path.Combine(_pki.Dir, "old.key"),
        });
        Assert.Equal(["TS-ENV-005", "TS-ENV-005"], Findings(expired));
        Assert.Contains(expired.Results, r => r.Message.StartsWith($"{oldCert}: old expired", StringComparison.Ordinal));
    }

    [Fact]
    public void NothingSet_WarnsAboutThePlaintextDefault()
    {
        var report = Check([]);
        Assert.Equal(["TS-ENV-006"], Findings(report));
    }

    [Fact]
    public async Task ReachableEndpoint_CertificateForAnotherName_Fails()
    {
        using var other = DevPki.IssueServer(_pki.Ca, "other.example", ["other.example"]);
        await using var server = await TestServer.StartAsync(ServerMode.Tls, other);

        var report = await CheckAsync(new() { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"https://localhost:{server.Port}", ["OTEL_EXPORTER_OTLP_CERTIFICATE"] = _pki.CaFile });

        Assert.Equal(["TS-ENV-007"], Findings(report));
        Assert.Equal($"server certificate of localhost:{server.Port}: localhost is not in the certificate's subjectAltName (has: DNS:other.example)",
            Single(report, "TS-ENV-007").Message);
    }

    [Fact]
    public async Task ReachableEndpoint_MatchingCertificate_Passes_AndTheTracesVariantIsTheOneContacted()
    {
        await using var server = await TestServer.StartAsync(ServerMode.MutualTls, _pki.Server, _pki.Ca);

        var report = await CheckAsync(new()
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"https://nowhere.invalid:{FreePort.Get()}",
            ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = $"https://127.0.0.1:{server.Port}/v1/traces",
            ["OTEL_EXPORTER_OTLP_CERTIFICATE"] = _pki.CaFile,
        });

        var san = Single(report, "TS-ENV-007");
        Assert.Equal(Outcome.Pass, san.Outcome);
        Assert.Equal($"server certificate of 127.0.0.1:{server.Port}: subjectAltName covers 127.0.0.1", san.Message);
    }

    [Fact]
    public async Task UnreachableOrPlaintextEndpoint_IsNotChecked_WithTheReason()
    {
        int port = FreePort.Get();
        var unreachable = await CheckAsync(new() { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"https://127.0.0.1:{port}", ["OTEL_EXPORTER_OTLP_CERTIFICATE"] = _pki.CaFile });
        Assert.Equal(Outcome.NotChecked, Single(unreachable, "TS-ENV-007").Outcome);
        Assert.StartsWith($"endpoint not reachable: cannot connect to 127.0.0.1:{port}", Single(unreachable, "TS-ENV-007").Message, StringComparison.Ordinal);
        Assert.Empty(Findings(unreachable));

        await using var plaintext = await TestServer.StartAsync(ServerMode.Plaintext);
        var noTls = await CheckAsync(new() { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"https://127.0.0.1:{plaintext.Port}", ["OTEL_EXPORTER_OTLP_CERTIFICATE"] = _pki.CaFile });
        Assert.Equal(Outcome.NotChecked, Single(noTls, "TS-ENV-007").Outcome);
        Assert.StartsWith($"no TLS handshake with 127.0.0.1:{plaintext.Port}", Single(noTls, "TS-ENV-007").Message, StringComparison.Ordinal);

        var http = await CheckAsync(new() { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{plaintext.Port}" });
        Assert.Equal("OTEL_EXPORTER_OTLP_ENDPOINT is not https://: there is no server certificate to check", Single(http, "TS-ENV-007").Message);
    }

    private static Report Check(Dictionary<string, string> env) => EnvChecker.Check(env, DateTimeOffset.UtcNow);

    private static Task<Report> CheckAsync(Dictionary<string, string> env) =>
        EnvChecker.CheckAsync(env, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(15), default);

    private static CheckResult Single(Report report, string id) => Assert.Single(report.Results, r => r.Rule.Id == id);

    private static List<string> Findings(Report report) =>
        report.Results.Where(r => r.Outcome is Outcome.Warn or Outcome.Fail).Select(r => r.Rule.Id).ToList();
}
