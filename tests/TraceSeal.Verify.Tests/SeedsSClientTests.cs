using System.Diagnostics;
using TraceSeal.Verify.Tests.Support;

namespace TraceSeal.Verify.Tests;

/// <summary>
/// The seeds' FAQ check, `openssl s_client -connect HOST:4318` without -cert, against a Kestrel mTLS listener (the
/// same SslStream server path as the collector's receivers), pinning what the README and docs/operations.md say it
/// prints on .NET 10 with OpenSSL: no `certificate required` alert, a close ("unexpected eof while reading") and no
/// answer to the request; with -cert/-key the request is answered. If a runtime update starts sending the alert,
/// this test fails and the docs (and TS-EP-009's message) must change with it.
/// </summary>
public sealed class SeedsSClientTests : IDisposable
{
    private const string Request = "POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [OpenSslFact]
    public async Task Without_a_certificate_no_request_is_answered_and_no_alert_is_sent()
    {
        await using var server = await TestServer.StartAsync(ServerMode.MutualTls, _pki.Server, _pki.Ca);
        foreach (string version in new[] { "-tls1_3", "-tls1_2" })
        {
            var (exit, output) = await SClientAsync(server.Port, version, withCertificate: false);

            Assert.True(exit != 0, $"{version}: s_client exited 0:\n{output}");
            Assert.Contains("verify return:1", output, StringComparison.Ordinal); // the server certificate verifies
            Assert.Contains("unexpected eof while reading", output, StringComparison.Ordinal);
            Assert.DoesNotContain("HTTP/1.1", output, StringComparison.Ordinal);
            Assert.DoesNotContain("alert", output, StringComparison.OrdinalIgnoreCase);
        }
    }

    [OpenSslFact]
    public async Task With_the_certificate_the_request_is_answered()
    {
        await using var server = await TestServer.StartAsync(ServerMode.MutualTls, _pki.Server, _pki.Ca);
        foreach (string version in new[] { "-tls1_3", "-tls1_2" })
        {
            var (_, output) = await SClientAsync(server.Port, version, withCertificate: true);

            // The exit code after the answer depends on how the server closes (close_notify or not): not asserted.
            Assert.Contains("HTTP/1.1 200 OK", output, StringComparison.Ordinal);
        }
    }

    private async Task<(int Exit, string Output)> SClientAsync(int port, string version, bool withCertificate)
    {
        var start = new ProcessStartInfo("openssl")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var args = new List<string> { "s_client", "-connect", $"127.0.0.1:{port}", version, "-CAfile", _pki.CaFile, "-quiet", "-ign_eof" };
        if (withCertificate)
        {
            args.AddRange(["-cert", _pki.ClientCertFile, "-key", _pki.ClientKeyFile]);
        }

        args.ForEach(start.ArgumentList.Add);
        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(Request);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"s_client did not finish within 30 s: {await stdout}{await stderr}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
