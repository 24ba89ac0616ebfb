using Microsoft.AspNetCore.Server.Kestrel.Core;
using TraceSeal.Pki;
using TraceSeal.Verify.Endpoint;
using TraceSeal.Verify.Findings;
using TraceSeal.Verify.Tests.Support;

namespace TraceSeal.Verify.Tests;

/// <summary>The FAQ "how do I confirm mTLS is enforced and not just TLS?" against real Kestrel servers on loopback.</summary>
public sealed class EndpointVerifierTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task MutualTls_Http_EveryCheckPasses()
    {
        await using var server = await TestServer.StartAsync(ServerMode.MutualTls, _pki.Server, _pki.Ca);
        var report = await VerifyAsync($"127.0.0.1:{server.Port}", withClient: true);

        Assert.All(report.Results, r => Assert.True(r.Outcome == Outcome.Pass, $"{r.Rule.Id}: {r.Outcome} {r.Message}"));
        Assert.Equal(Catalogue.EndpointRules.Select(r => r.Id).Order(), report.Results.Select(r => r.Rule.Id).Order());
        Assert.Contains("HTTP 200", Message(report, "TS-EP-011"), StringComparison.Ordinal);
        Assert.StartsWith("refused without a client certificate", Message(report, "TS-EP-009"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MutualTls_Grpc_ExportSucceedsWithGrpcStatus0()
    {
        await using var server = await TestServer.StartAsync(ServerMode.MutualTls, _pki.Server, _pki.Ca, HttpProtocols.Http2);
        var report = await VerifyAsync($"https://localhost:{server.Port}", withClient: true, protocol: "grpc");

        Assert.Equal(Outcome.Pass, Result(report, "TS-EP-011").Outcome);
        Assert.Contains("grpc-status 0", Message(report, "TS-EP-011"), StringComparison.Ordinal);
        Assert.Equal(Outcome.Pass, Result(report, "TS-EP-009").Outcome);
        Assert.Equal(Outcome.Pass, Result(report, "TS-EP-010").Outcome);
        Assert.Equal(Outcome.Pass, Result(report, "TS-EP-002").Outcome);
    }

    [Fact]
    public async Task ServerOnlyTls_IsNotMutual()
    {
        await using var server = await TestServer.StartAsync(ServerMode.Tls, _pki.Server);
        var report = await VerifyAsync($"127.0.0.1:{server.Port}", withClient: true);

        Assert.Equal(Outcome.Fail, Result(report, "TS-EP-009").Outcome);
        Assert.Equal("an export without a client certificate was answered: HTTP 200 OK", Message(report, "TS-EP-009"));
        Assert.Equal(Outcome.Fail, Result(report, "TS-EP-010").Outcome);
        Assert.Equal(Outcome.Pass, Result(report, "TS-EP-001").Outcome);
        Assert.Equal(Outcome.Pass, Result(report, "TS-EP-011").Outcome);
        Assert.Equal(Report.ExitFindings, report.ExitCode(Outcome.Fail));
    }

    [Fact]
    public async Task Plaintext_IsRefusedTls_AndTheRestIsNotChecked()
    {
        await using var server = await TestServer.StartAsync(ServerMode.Plaintext);
        var report = await VerifyAsync($"127.0.0.1:{server.Port}", withClient: true);

        Assert.Equal(Outcome.Fail, Result(report, "TS-EP-001").Outcome);
        Assert.StartsWith("a plaintext request was answered: \"HTTP/1.1 200 OK\"", Message(report, "TS-EP-001"), StringComparison.Ordinal);
        Assert.Equal(Outcome.Fail, Result(report, "TS-EP-003").Outcome);
        Assert.Equal(Outcome.NotChecked, Result(report, "TS-EP-009").Outcome);
    }

    [Fact]
    public async Task PlaintextH2c_IsFlagged()
    {
        await using var server = await TestServer.StartAsync(ServerMode.Plaintext, protocols: HttpProtocols.Http2);
        var report = await VerifyAsync($"127.0.0.1:{server.Port}", withClient: false, protocol: "grpc");

        Assert.Equal(Outcome.Fail, Result(report, "TS-EP-002").Outcome);
    }

    [Fact]
    public async Task WrongServerName_AndForeignCa_Fail()
    {
        using var otherCa = DevPki.CreateCa("Some Other CA");
        string otherCaFile = Path.Combine(_pki.Dir, "other-ca.crt");
        File.WriteAllText(otherCaFile, otherCa.CertificatePem);
        await using var server = await TestServer.StartAsync(ServerMode.MutualTls, _pki.Server, _pki.Ca);

        var target = EndpointTarget.Parse($"127.0.0.1:{server.Port}", serverName: "collector.internal");
        var report = await EndpointVerifier.VerifyAsync(new EndpointOptions(target) { CaFile = otherCaFile, CertFile = _pki.ClientCertFile, KeyFile = _pki.ClientKeyFile }, default);

        Assert.Equal(Outcome.Fail, Result(report, "TS-EP-006").Outcome);
        Assert.Equal("collector.internal is not in the certificate's subjectAltName (has: DNS:localhost, IP:127.0.0.1)", Message(report, "TS-EP-006"));
        Assert.Equal(Outcome.Fail, Result(report, "TS-EP-005").Outcome);
    }

    [Fact]
    public async Task MutualTls_WithoutClientCertificate_TlsPasses_ExportNotChecked()
    {
        await using var server = await TestServer.StartAsync(ServerMode.MutualTls, _pki.Server, _pki.Ca);
        var report = await VerifyAsync($"127.0.0.1:{server.Port}", withClient: false);

        Assert.Equal(Outcome.Pass, Result(report, "TS-EP-003").Outcome);
        Assert.Equal(Outcome.Pass, Result(report, "TS-EP-009").Outcome);
        Assert.Equal(Outcome.NotChecked, Result(report, "TS-EP-011").Outcome);
        Assert.Equal(Report.ExitClean, report.ExitCode(Outcome.Warn));
    }

    [Fact]
    public async Task NothingListening_IsOneFailure()
    {
        int port = FreePort.Get();
        var report = await VerifyAsync($"127.0.0.1:{port}", withClient: false);

        Assert.Equal(Outcome.Fail, Result(report, "TS-EP-003").Outcome);
        Assert.StartsWith($"cannot connect to 127.0.0.1:{port}", Message(report, "TS-EP-003"), StringComparison.Ordinal);
        Assert.Equal(1, report.Count(Outcome.Fail));
    }

    private Task<Report> VerifyAsync(string endpoint, bool withClient, string? protocol = null)
    {
        var options = new EndpointOptions(EndpointTarget.Parse(endpoint, protocol: protocol))
        {
            CaFile = _pki.CaFile,
            CertFile = withClient ? _pki.ClientCertFile : null,
            KeyFile = withClient ? _pki.ClientKeyFile : null,
        };
        return EndpointVerifier.VerifyAsync(options, default);
    }

    internal static CheckResult Result(Report report, string id) => Assert.Single(report.Results, r => r.Rule.Id == id);

    internal static string Message(Report report, string id) => Result(report, id).Message;
}
