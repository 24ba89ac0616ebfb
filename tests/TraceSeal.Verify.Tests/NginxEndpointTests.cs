using TraceSeal.Verify.Endpoint;
using TraceSeal.Verify.Findings;
using TraceSeal.Verify.Tests.Support;

namespace TraceSeal.Verify.Tests;

/// <summary>
/// `verify endpoint` against Debian's nginx, the usual TLS terminator in front of a collector, in the three
/// shapes the seeds' FAQ distinguishes: mTLS, TLS only ("encrypted, but anyone may send") and plaintext.
/// nginx finishes the handshake without a client certificate and refuses with a 400 page instead, which the
/// verifier must still count as mTLS enforced. These tests fail (never skip) when nginx is missing.
/// </summary>
public sealed class NginxEndpointTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task MutualTls_EnforcedAndExportSucceeds()
    {
        using var nginx = await NginxServer.StartAsync(NginxMode.MutualTls, _pki);
        var report = await VerifyAsync(nginx);

        AssertOutcomes(report, nginx, new()
        {
            ["TS-EP-001"] = Outcome.Pass, ["TS-EP-002"] = Outcome.Pass, ["TS-EP-003"] = Outcome.Pass, ["TS-EP-004"] = Outcome.Pass,
            ["TS-EP-005"] = Outcome.Pass, ["TS-EP-006"] = Outcome.Pass, ["TS-EP-007"] = Outcome.Pass, ["TS-EP-008"] = Outcome.Pass,
            ["TS-EP-009"] = Outcome.Pass, ["TS-EP-010"] = Outcome.Pass, ["TS-EP-011"] = Outcome.Pass, ["TS-EP-012"] = Outcome.Pass,
        });
        Assert.Contains("plain HTTP request was sent to HTTPS port", Message(report, "TS-EP-001"), StringComparison.Ordinal);
        Assert.Equal("refused without a client certificate: HTTP 400 from nginx before the request reached a location: \"No required SSL certificate was sent\"",
            Message(report, "TS-EP-009"));
        Assert.Equal("refused with a client certificate from a foreign CA: HTTP 400 from nginx before the request reached a location: \"The SSL certificate error\"",
            Message(report, "TS-EP-010"));
        Assert.EndsWith("HTTP 200 OK", Message(report, "TS-EP-011"), StringComparison.Ordinal);
        Assert.Equal(Report.ExitClean, report.ExitCode(Outcome.Warn));
    }

    [Fact]
    public async Task TlsOnly_FailsMutualTlsChecks()
    {
        using var nginx = await NginxServer.StartAsync(NginxMode.Tls, _pki);
        var report = await VerifyAsync(nginx);

        AssertOutcomes(report, nginx, new()
        {
            ["TS-EP-001"] = Outcome.Pass, ["TS-EP-002"] = Outcome.Pass, ["TS-EP-003"] = Outcome.Pass, ["TS-EP-004"] = Outcome.Pass,
            ["TS-EP-005"] = Outcome.Pass, ["TS-EP-006"] = Outcome.Pass, ["TS-EP-007"] = Outcome.Pass, ["TS-EP-008"] = Outcome.Pass,
            ["TS-EP-009"] = Outcome.Fail, ["TS-EP-010"] = Outcome.Fail, ["TS-EP-011"] = Outcome.Pass, ["TS-EP-012"] = Outcome.Pass,
        });
        Assert.Equal("an export without a client certificate was answered: HTTP 200 OK", Message(report, "TS-EP-009"));
        Assert.Equal("an export with a client certificate from a foreign CA was answered: HTTP 200 OK", Message(report, "TS-EP-010"));
        Assert.Equal(Report.ExitFindings, report.ExitCode(Outcome.Fail));
    }

    [Fact]
    public async Task Plaintext_AcceptedAndNoTls()
    {
        using var nginx = await NginxServer.StartAsync(NginxMode.Plaintext, _pki);
        var report = await VerifyAsync(nginx);

        var notChecked = Outcome.NotChecked;
        AssertOutcomes(report, nginx, new()
        {
            ["TS-EP-001"] = Outcome.Fail, ["TS-EP-002"] = Outcome.Pass, ["TS-EP-003"] = Outcome.Fail, ["TS-EP-004"] = notChecked,
            ["TS-EP-005"] = notChecked, ["TS-EP-006"] = notChecked, ["TS-EP-007"] = notChecked, ["TS-EP-008"] = notChecked,
            ["TS-EP-009"] = notChecked, ["TS-EP-010"] = notChecked, ["TS-EP-011"] = notChecked, ["TS-EP-012"] = notChecked,
        });
        Assert.StartsWith("a plaintext request was answered: \"HTTP/1.1 200 OK\"", Message(report, "TS-EP-001"), StringComparison.Ordinal);
        Assert.StartsWith("no TLS 1.2/1.3 handshake", Message(report, "TS-EP-003"), StringComparison.Ordinal);
        Assert.Equal(Report.ExitFindings, report.ExitCode(Outcome.Fail));
    }

    [Fact]
    public void MissingNginx_FailsWithTheInstallHint()
    {
        var e = Assert.Throws<InvalidOperationException>(() => NginxServer.FindNginx([Path.Combine(_pki.Dir, "no-nginx-here")]));
        Assert.EndsWith("install nginx (apt-get install -y nginx)", e.Message, StringComparison.Ordinal);
    }

    private Task<Report> VerifyAsync(NginxServer nginx)
    {
        var options = new EndpointOptions(EndpointTarget.Parse($"127.0.0.1:{nginx.Port}"))
        {
            CaFile = _pki.CaFile,
            CertFile = _pki.ClientCertFile,
            KeyFile = _pki.ClientKeyFile,
            Timeout = TimeSpan.FromSeconds(15), // the test machine is loaded; nothing here should take this long
        };
        return EndpointVerifier.VerifyAsync(options, default);
    }

    private static void AssertOutcomes(Report report, NginxServer nginx, Dictionary<string, Outcome> expected)
    {
        var actual = report.Results.ToDictionary(r => r.Rule.Id, r => r.Outcome);
        string all = string.Join(Environment.NewLine, report.Results.Select(r => $"{r.Rule.Id} {r.Outcome}: {r.Message}"));
        Assert.True(expected.OrderBy(e => e.Key).SequenceEqual(actual.OrderBy(a => a.Key)),
            $"outcomes differ from the expected ones:{Environment.NewLine}{all}{Environment.NewLine}nginx error log:{Environment.NewLine}{nginx.ErrorLog}");
    }

    private static string Message(Report report, string id) => Assert.Single(report.Results, r => r.Rule.Id == id).Message;
}
