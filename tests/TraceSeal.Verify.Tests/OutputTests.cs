using System.Text.Json;
using TraceSeal.Verify.Config;
using TraceSeal.Verify.Findings;
using TraceSeal.Verify.Output;

namespace TraceSeal.Verify.Tests;

/// <summary>Text checklist grouped by layer, JSON for scripts, SARIF 2.1.0 for CI, and the exit-code contract.</summary>
public sealed class OutputTests
{
    private const string Yaml = """
        receivers:
          otlp:
            protocols:
              grpc:
                endpoint: 127.0.0.1:4317
        processors:
          batch:
        """;

    private static Report Lint() => ConfigLinter.Lint(Yaml, "otel.yaml");

    [Fact]
    public void Text_IsGroupedByLayer_WithFixLines()
    {
        string text = TextReport.Render(Lint());

        Assert.StartsWith("traceseal verify config otel.yaml\n\nIn transit\n", text, StringComparison.Ordinal);
        Assert.Contains("  FAIL  TS-CFG-001   otel.yaml:4:7  receivers.otlp.protocols.grpc has no tls block: it accepts plaintext\n" +
                        "                     fix: add tls: {cert_file, key_file, client_ca_file}; without it the receiver accepts plaintext whatever the SDKs are told\n",
            text, StringComparison.Ordinal);
        Assert.Contains("  skip  TS-CFG-002   no receiver has a tls block (a receiver without one is TS-CFG-001)\n", text, StringComparison.Ordinal);
        Assert.Contains("  pass  TS-CFG-009   1 listening receiver endpoint(s): none is plaintext on every interface\n", text, StringComparison.Ordinal);
        Assert.True(text.IndexOf("\nIn transit\n", StringComparison.Ordinal) < text.IndexOf("\nIn the collector\n", StringComparison.Ordinal));
        Assert.True(text.IndexOf("\nIn the collector\n", StringComparison.Ordinal) < text.IndexOf("\nAt rest\n", StringComparison.Ordinal));
        Assert.EndsWith("1 fail, 1 warn, 3 pass, 17 not checked\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_HasEveryResult()
    {
        using var json = JsonDocument.Parse(JsonReport.Render(Lint()));
        var root = json.RootElement;
        Assert.Equal("fail", root.GetProperty("outcome").GetString());
        Assert.Equal(Catalogue.ConfigRules.Count, root.GetProperty("results").GetArrayLength());
        var first = root.GetProperty("results").EnumerateArray().First(r => r.GetProperty("outcome").GetString() == "fail");
        Assert.Equal("TS-CFG-001", first.GetProperty("id").GetString());
        Assert.Equal(4, first.GetProperty("location").GetProperty("line").GetInt32());
        Assert.Equal(7, first.GetProperty("location").GetProperty("column").GetInt32());
    }

    [Fact]
    public void Sarif_210_WithRuleIdLevelAndRegion()
    {
        using var sarif = JsonDocument.Parse(SarifReport.Render(Lint()));
        var root = sarif.RootElement;
        Assert.Equal("2.1.0", root.GetProperty("version").GetString());
        var run = root.GetProperty("runs")[0];
        var rules = run.GetProperty("tool").GetProperty("driver").GetProperty("rules");
        Assert.Equal(Catalogue.ConfigRules.Count, rules.GetArrayLength());

        var results = run.GetProperty("results").EnumerateArray().Where(r => r.GetProperty("level").GetString() != "note").ToList();
        Assert.Equal(["TS-CFG-001", "TS-CFG-012"], results.Select(r => r.GetProperty("ruleId").GetString()));
        Assert.Equal(["error", "warning"], results.Select(r => r.GetProperty("level").GetString()));
        var location = results[0].GetProperty("locations")[0].GetProperty("physicalLocation");
        Assert.Equal("otel.yaml", location.GetProperty("artifactLocation").GetProperty("uri").GetString());
        Assert.Equal(4, location.GetProperty("region").GetProperty("startLine").GetInt32());
        Assert.Equal(7, location.GetProperty("region").GetProperty("startColumn").GetInt32());
        int index = results[0].GetProperty("ruleIndex").GetInt32();
        Assert.Equal("TS-CFG-001", rules[index].GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("fail", 1)]
    [InlineData("warn", 1)]
    public async Task Runner_ExitsOneOnFindings(string failOn, int expected)
    {
        var (code, _, _) = await RunAsync(_ => Task.FromResult(Lint()), "text", failOn);
        Assert.Equal(expected, code);
    }

    [Fact]
    public async Task Runner_WarnOnly_ExitsZeroUnlessFailOnWarn()
    {
        var warnOnly = ConfigLinter.Lint("processors:\n  batch:\n", "w.yaml");
        Assert.Equal(0, (await RunAsync(_ => Task.FromResult(warnOnly), "json", "fail")).Code);
        Assert.Equal(1, (await RunAsync(_ => Task.FromResult(warnOnly), "json", "warn")).Code);
    }

    [Fact]
    public async Task Runner_MissingFile_IsUsageError_OnStderr()
    {
        var (code, stdout, stderr) = await RunAsync(_ => Task.FromResult(ConfigLinter.LintFile("/nonexistent/otel.yaml")), "text", "fail");
        Assert.Equal(2, code);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal("error: config file not found: /nonexistent/otel.yaml\n", stderr);
    }

    [Fact]
    public async Task Runner_BadFormat_IsUsageError()
    {
        Assert.Equal(2, (await RunAsync(_ => Task.FromResult(Lint()), "xml", "fail")).Code);
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(Func<CancellationToken, Task<Report>> check, string format, string failOn)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        int code = await VerifyRunner.RunAsync(check, format, failOn, stdout, stderr, default);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
