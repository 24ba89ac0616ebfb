using TraceSeal.Verify.Config;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Tests;

/// <summary>Exact messages and columns for the most important findings; the corpus covers the rest.</summary>
public sealed class ConfigLinterTests
{
    [Fact]
    public void ReceiverWithoutTls_PointsAtProtocolKey_WithMessage()
    {
        var report = ConfigLinter.Lint("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 0.0.0.0:4317
            """, "otel.yaml");

        var findings = Findings(report);
        Assert.Equal(2, findings.Count);
        Assert.Equal(new CheckResult(Catalogue.ReceiverWithoutTls, Outcome.Fail,
            "receivers.otlp.protocols.grpc has no tls block: it accepts plaintext", new SourceLocation("otel.yaml", 4, 7)), findings[0]);
        Assert.Equal(new CheckResult(Catalogue.WildcardWithoutTls, Outcome.Fail,
            "receivers.otlp.protocols.grpc.endpoint 0.0.0.0:4317 listens on every interface without TLS", new SourceLocation("otel.yaml", 5, 19)), findings[1]);
    }

    [Fact]
    public void CaFileOnServer_PointsAtCaFileKey()
    {
        var report = ConfigLinter.Lint("""
            receivers:
              otlp:
                protocols:
                  http:
                    tls:
                      cert_file: s.crt
                      key_file: s.key
                      ca_file: ca.crt
                      reload_interval: 1h
            """, "c.yaml");

        var finding = Assert.Single(Findings(report));
        Assert.Equal("TS-CFG-003", finding.Rule.Id);
        Assert.Equal(new SourceLocation("c.yaml", 8, 11), finding.Location);
        Assert.Equal("receivers.otlp.protocols.http.tls has ca_file but no client_ca_file: neither upstream nor TraceSeal verifies clients with ca_file, any client may send", finding.Message);
    }

    [Fact]
    public void InvalidYaml_IsOneFinding_WithoutPasses()
    {
        var report = ConfigLinter.Lint("receivers: [unclosed\n", "bad.yaml");
        var result = Assert.Single(report.Results);
        Assert.Equal("TS-CFG-000", result.Rule.Id);
        Assert.Equal(Outcome.Fail, result.Outcome);
    }

    /// <summary>Issue 13: an empty config passed every rule, "every pipeline has a memory_limiter" with no pipelines.</summary>
    [Fact]
    public void EmptyConfig_ListsEveryRule_NoneAsPassBeyondParsing()
    {
        var report = ConfigLinter.Lint("service: {}\n", "empty.yaml");
        Assert.Equal(Catalogue.ConfigRules.Select(r => r.Id).Order(), report.Results.Select(r => r.Rule.Id).Order());
        Assert.All(report.Results.Where(r => r.Rule.Id != "TS-CFG-000"), r => Assert.Equal(Outcome.NotChecked, r.Outcome));
        Assert.Equal("no service.pipelines: there is no pipeline to check (neither collector runs without one)",
            Assert.Single(report.Results, r => r.Rule.Id == "TS-CFG-010").Message);
        Assert.Equal(Report.ExitClean, report.ExitCode(Outcome.Warn));
    }

    [Fact]
    public void MissingFile_IsAUsageError()
    {
        Assert.Throws<FileNotFoundException>(() => ConfigLinter.LintFile("/nonexistent/otel.yaml"));
    }

    [Theory]
    [InlineData("0.0.0.0:4317", true)]
    [InlineData("[::]:4317", true)]
    [InlineData(":4317", true)]
    [InlineData("127.0.0.1:4317", false)]
    [InlineData("localhost:4317", false)]
    [InlineData("::1", false)]
    [InlineData("${env:MY_POD_IP}:4317", false)]
    public void AllInterfaces(string endpoint, bool expected) => Assert.Equal(expected, ReceiverChecks.ListensOnAllInterfaces(endpoint));

    private static List<CheckResult> Findings(Report report) => report.Results.Where(r => r.Outcome is Outcome.Warn or Outcome.Fail).ToList();
}
