using TraceSeal.Interop.Tests.Infrastructure;
using TraceSeal.Collector.Tls;
using TraceSeal.Otlp;

namespace TraceSeal.Interop.Tests;

/// <summary>
/// The seeds' "How do I confirm mTLS is enforced?" checks, run with the real tools against a real receiver:
/// openssl s_client without a client certificate, curl over plaintext, and curl with the client certificate.
/// Each refusal is paired with the same tool succeeding when given the certificate, so a refusal cannot come
/// from a broken command line.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class MtlsProbeTests(InteropPki pki)
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(30);

    private const string EmptyJsonExport =
        "POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";

    [Fact]
    public async Task OpensslSClient_without_client_certificate_cannot_complete_an_http_exchange()
    {
        await using var receiver = await TestReceiver.StartAsync(pki);

        var refused = await SClientAsync(receiver.HttpEndpoint.Port, withClientCertificate: false);
        var accepted = await SClientAsync(receiver.HttpEndpoint.Port, withClientCertificate: true);

        Assert.DoesNotContain("HTTP/1.1 200", refused.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("HTTP/1.1 ", refused.StandardOutput, StringComparison.Ordinal);
        await receiver.WaitForHandshakeFailureAsync(HandshakeFailure.NoClientCertificate);
        Assert.Equal(1, receiver.Counters.HandshakeFailed(HandshakeFailure.NoClientCertificate));

        // The same command with -cert/-key completes the exchange: the refusal above is mTLS, not the command line.
        Assert.True(accepted.StandardOutput.Contains("HTTP/1.1 200", StringComparison.Ordinal), $"expected HTTP 200 with the client certificate\n{accepted}\n--- receiver log ---\n{receiver.Logs}");
        Assert.Equal(1, receiver.Counters.RequestsAccepted);
        Assert.Equal(0, receiver.Sink.Count(OtlpSignal.Traces));
    }

    [Fact]
    public async Task OpensslSClient_without_client_certificate_is_refused_on_the_grpc_port()
    {
        await using var receiver = await TestReceiver.StartAsync(pki);

        var refused = await SClientAsync(receiver.GrpcEndpoint.Port, withClientCertificate: false);

        Assert.DoesNotContain("HTTP/1.1 ", refused.StandardOutput, StringComparison.Ordinal);
        await receiver.WaitForHandshakeFailureAsync(HandshakeFailure.NoClientCertificate);
        Assert.Equal(1, receiver.Counters.HandshakeFailed(HandshakeFailure.NoClientCertificate));
        Assert.Equal(0, receiver.Counters.RequestsAccepted);
        Assert.Empty(receiver.Sink.Batches);
    }

    [Theory]
    [InlineData("http")]
    [InlineData("grpc")]
    public async Task Curl_over_plaintext_gets_no_otlp_answer(string port)
    {
        await using var receiver = await TestReceiver.StartAsync(pki);
        var target = port == "http" ? receiver.HttpEndpoint.Port : receiver.GrpcEndpoint.Port;

        var result = await CurlAsync(
            ["-X", "POST", "-H", "Content-Type: application/json", "-d", "{}", $"http://127.0.0.1:{target}/v1/traces"]);

        var status = result.StandardOutput.Trim();
        Assert.True(status is not ("200" or "400") && !status.StartsWith('2'), $"plaintext got an OTLP answer (HTTP {status})\n{result}");
        await receiver.WaitForHandshakeFailureAsync(HandshakeFailure.NotTls);
        Assert.Equal(0, receiver.Counters.RequestsAccepted);
        Assert.Empty(receiver.Sink.Batches);
    }

    [Fact]
    public async Task Curl_with_client_certificate_exports_an_empty_json_request()
    {
        await using var receiver = await TestReceiver.StartAsync(pki);
        var port = receiver.HttpEndpoint.Port;

        var result = await CurlAsync(
        [
            "--cacert", pki.CaCertificate, "--cert", pki.ClientCertificate, "--key", pki.ClientKey,
            // Pins localhost to the IPv4 loopback the receiver listens on; the certificate is still checked for "localhost".
            "--resolve", $"localhost:{port}:127.0.0.1",
            "-H", "Content-Type: application/json", "-d", "{}", $"https://localhost:{port}/v1/traces",
        ]);

        Assert.True(result.StandardOutput.Trim() == "200", $"expected HTTP 200\n{result}\n--- receiver log ---\n{receiver.Logs}");
        Assert.Equal(1, receiver.Counters.RequestsAccepted);
        Assert.Equal(0, receiver.Counters.TotalHandshakeFailures);
        Assert.Equal(0, receiver.Sink.Count(OtlpSignal.Traces));
    }

    private async Task<ProcessResult> SClientAsync(int port, bool withClientCertificate)
    {
        List<string> arguments =
        [
            "s_client", "-connect", $"127.0.0.1:{port}", "-servername", "localhost", "-CAfile", pki.CaCertificate,
            // Keep reading after stdin ends, so a response (if the server sends one) is printed.
            "-ign_eof",
        ];
        if (withClientCertificate)
        {
            arguments.AddRange(["-cert", pki.ClientCertificate, "-key", pki.ClientKey]);
        }

        return await ChildProcess.RunAsync(Tools.OpenSsl, arguments, new Dictionary<string, string>(), pki.NewWorkDirectory(), ToolTimeout, EmptyJsonExport);
    }

    private async Task<ProcessResult> CurlAsync(IReadOnlyList<string> arguments)
    {
        List<string> all = ["--silent", "--show-error", "--noproxy", "*", "--max-time", "10", "--output", "/dev/null", "--write-out", "%{http_code}"];
        all.AddRange(arguments);
        return await ChildProcess.RunAsync(Tools.Curl, all, new Dictionary<string, string>(), pki.NewWorkDirectory(), ToolTimeout);
    }
}
