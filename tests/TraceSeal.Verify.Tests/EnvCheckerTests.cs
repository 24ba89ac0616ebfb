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
        Assert.All(report.Results, r => Assert.True(r.Outcome == Outcome.Pass, $"{r.Rule.Id}: {r.Message}"));
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
        var finding = Assert.Single(report.Results, r => r.Outcome != Outcome.Pass);
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

    private static Report Check(Dictionary<string, string> env) => EnvChecker.Check(env, DateTimeOffset.UtcNow);

    private static List<string> Findings(Report report) =>
        report.Results.Where(r => r.Outcome is Outcome.Warn or Outcome.Fail).Select(r => r.Rule.Id).ToList();
}
