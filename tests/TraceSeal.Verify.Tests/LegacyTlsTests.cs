using System.Diagnostics;
using TraceSeal.Verify.Endpoint;
using TraceSeal.Verify.Findings;
using TraceSeal.Verify.Tests.Support;

namespace TraceSeal.Verify.Tests;

/// <summary>TLS 1.0/1.1 detection against `openssl s_server` configured to speak only TLS 1.1.</summary>
public sealed class LegacyTlsTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [OpenSslFact]
    public async Task Tls11Server_IsFlagged()
    {
        int port = FreePort.Get();
        using var server = StartSServer(port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0");
        try
        {
            await WaitForAcceptAsync(server);
            var target = EndpointTarget.Parse($"127.0.0.1:{port}");
            var result = await LegacyTlsProbe.RunAsync(target, LegacyTlsProbe.FindOpenSsl(), null, null, TimeSpan.FromSeconds(10), default);

            Assert.True(result.Checked);
            Assert.True(result.Accepted, result.Detail);
            Assert.StartsWith("the server accepted TLSv1.1", result.Detail, StringComparison.Ordinal);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
        }
    }

    [OpenSslFact]
    public async Task Tls13OnlyServer_IsRefusedOld()
    {
        int port = FreePort.Get();
        using var server = StartSServer(port, "-tls1_3");
        try
        {
            await WaitForAcceptAsync(server);
            var target = EndpointTarget.Parse($"127.0.0.1:{port}");
            var result = await LegacyTlsProbe.RunAsync(target, LegacyTlsProbe.FindOpenSsl(), null, null, TimeSpan.FromSeconds(10), default);

            Assert.True(result.Checked);
            Assert.False(result.Accepted, result.Detail);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task WithoutOpenSsl_IsNotChecked_NeverPassed()
    {
        var report = await EndpointVerifier.VerifyAsync(
            new EndpointOptions(EndpointTarget.Parse("127.0.0.1:1")) { OpenSslPath = string.Empty }, default);
        Assert.DoesNotContain(report.Results, r => r.Rule.Id == "TS-EP-004" && r.Outcome == Outcome.Pass);

        var direct = await LegacyTlsProbe.RunAsync(EndpointTarget.Parse("127.0.0.1:1"), string.Empty, null, null, TimeSpan.FromSeconds(1), default);
        Assert.False(direct.Checked);
    }

    private Process StartSServer(int port, params string[] extra)
    {
        var start = new ProcessStartInfo(LegacyTlsProbe.FindOpenSsl()!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "s_server", "-accept", $"127.0.0.1:{port}", "-cert", _pki.ServerCertFile, "-key", _pki.ServerKeyFile, "-www" }.Concat(extra))
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start)!;
    }

    /// <summary>s_server prints "ACCEPT" once it listens: synchronise on that line, not on a sleep.</summary>
    private static async Task WaitForAcceptAsync(Process server)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (await server.StandardOutput.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith("ACCEPT", StringComparison.Ordinal))
            {
                return;
            }
        }

        throw new InvalidOperationException($"openssl s_server exited: {await server.StandardError.ReadToEndAsync()}");
    }
}
