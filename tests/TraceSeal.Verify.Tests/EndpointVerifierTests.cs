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
        NoDisposedNoise(report);
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

    /// <summary>Issue 13: a gRPC receiver on a port other than 4317 failed TS-EP-003 (an ALPN refusal, misread).</summary>
    [Fact]
    public async Task Grpc_receiver_on_any_port_is_probed_as_grpc()
    {
        await using var server = await GrpcReceiverAsync();
        var report = await VerifyAsync($"127.0.0.1:{server.Port}", withClient: true);

        Assert.Equal(Outcome.Pass, Result(report, "TS-EP-003").Outcome);
        Assert.StartsWith("serves OTLP/gRPC (ALPN h2 negotiated; ALPN http/1.1 refused; gRPC Export answered grpc-status 0", Message(report, "TS-EP-012"), StringComparison.Ordinal);
        Assert.Contains("grpc-status 0", Message(report, "TS-EP-011"), StringComparison.Ordinal);
        Assert.All(report.Results, r => Assert.True(r.Outcome == Outcome.Pass, $"{r.Rule.Id}: {r.Outcome} {r.Message}"));
        NoDisposedNoise(report);
    }

    /// <summary>Issue 13: an https:// URL always probed as HTTP.</summary>
    [Fact]
    public async Task Https_url_is_probed_as_whatever_it_serves()
    {
        await using var server = await GrpcReceiverAsync();
        var report = await VerifyAsync($"https://localhost:{server.Port}/", withClient: true);

        Assert.StartsWith("serves OTLP/gRPC", Message(report, "TS-EP-012"), StringComparison.Ordinal);
        Assert.Equal(Outcome.Pass, Result(report, "TS-EP-011").Outcome);
    }

    [Fact]
    public async Task Expected_protocol_that_the_endpoint_does_not_serve_fails()
    {
        await using var server = await TestServer.StartAsync(ServerMode.MutualTls, _pki.Server, _pki.Ca, HttpProtocols.Http1AndHttp2, OtlpService.HttpOnly);
        var report = await VerifyAsync($"127.0.0.1:{server.Port}", withClient: true, protocol: "grpc");

        Assert.Equal(Outcome.Fail, Result(report, "TS-EP-012").Outcome);
        Assert.StartsWith($"--protocol grpc, but 127.0.0.1:{server.Port} does not serve OTLP/gRPC", Message(report, "TS-EP-012"), StringComparison.Ordinal);
    }

    /// <summary>Issue 13 (item 4): the refusal without a certificate is stated as seen, and says why there is no alert.</summary>
    [Fact]
    public async Task Grpc_mutual_tls_without_certificate_states_how_it_was_refused()
    {
        await using var server = await GrpcReceiverAsync();
        var report = await VerifyAsync($"127.0.0.1:{server.Port}", withClient: false);

        Assert.Equal(Outcome.Pass, Result(report, "TS-EP-009").Outcome);
        Assert.StartsWith("refused without a client certificate: the server closed the connection before answering any request, without a TLS alert", Message(report, "TS-EP-009"), StringComparison.Ordinal);
        Assert.Contains("unexpected eof while reading", Message(report, "TS-EP-009"), StringComparison.Ordinal);
        Assert.Equal(Outcome.Pass, Result(report, "TS-EP-012").Outcome);
        Assert.Contains("inferred from ALPN", Message(report, "TS-EP-012"), StringComparison.Ordinal);
        NoDisposedNoise(report);
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

    /// <summary>Like a collector's grpc receiver: mTLS, HTTP/2 only, the Export method only.</summary>
    private Task<TestServer> GrpcReceiverAsync() =>
        TestServer.StartAsync(ServerMode.MutualTls, _pki.Server, _pki.Ca, HttpProtocols.Http2, OtlpService.GrpcOnly);

    private static void NoDisposedNoise(Report report) =>
        Assert.DoesNotContain(report.Results, r => r.Message.Contains("disposed object", StringComparison.OrdinalIgnoreCase));

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
