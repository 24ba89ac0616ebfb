using Microsoft.Extensions.Logging;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using TraceSeal.Pki;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Collector.Tests.Receivers;

/// <summary>Each test: one client mistake, one refusal, one counter reason.</summary>
public sealed class TlsRefusalTests(MtlsReceiverFixture fixture) : IClassFixture<MtlsReceiverFixture>
{
    private ReceiverHarness Harness => fixture.Harness;

    [Fact]
    public async Task No_client_certificate_fails_and_is_counted()
    {
        long before = Harness.Receiver.Counters.HandshakeFailed("no_client_certificate");
        using HttpClient client = Harness.CreateClient(clientCertificate: null);

        await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(Post()));

        await Eventually.TrueAsync(() => Harness.Receiver.Counters.HandshakeFailed("no_client_certificate") > before, "no_client_certificate counter");
        await AssertLoggedAsync("refused: no_client_certificate");
    }

    [Fact]
    public async Task A_client_certificate_from_another_ca_is_untrusted()
    {
        using IssuedCertificate otherCa = DevPki.CreateCa("Some Other CA");
        using IssuedCertificate stranger = DevPki.IssueClient(otherCa, "stranger");
        long before = Harness.Receiver.Counters.HandshakeFailed("untrusted_ca");
        using HttpClient client = Harness.CreateClient(stranger.Certificate);

        await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(Post()));

        await Eventually.TrueAsync(() => Harness.Receiver.Counters.HandshakeFailed("untrusted_ca") > before, "untrusted_ca counter");
        await AssertLoggedAsync("refused: untrusted_ca");
    }

    [Fact]
    public async Task An_expired_client_certificate_is_refused()
    {
        using IssuedCertificate expired = DevPki.IssueClient(fixture.Pki.Ca, "old-app", validity: TimeSpan.FromDays(1), notBefore: DateTimeOffset.UtcNow.AddDays(-10));
        long before = Harness.Receiver.Counters.HandshakeFailed("expired");
        using HttpClient client = Harness.CreateClient(expired.Certificate);

        await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(Post()));

        await Eventually.TrueAsync(() => Harness.Receiver.Counters.HandshakeFailed("expired") > before, "expired counter");
        await AssertLoggedAsync("refused: expired");
    }

    [Theory]
    [InlineData("http1")]
    [InlineData("h2c")]
    public async Task Plaintext_to_the_tls_port_gets_no_otlp_answer(string kind)
    {
        long before = Harness.Receiver.Counters.HandshakeFailed("not_tls");
        byte[] hello = kind == "http1"
            ? "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"u8.ToArray()
            : [.. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8, 0, 0, 0, 4, 0, 0, 0, 0, 0]; // preface + empty SETTINGS
        int port = kind == "http1" ? Harness.Receiver.HttpEndpoint!.Port : Harness.Receiver.GrpcEndpoint!.Port;
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, port);
        NetworkStream stream = socket.GetStream();
        await stream.WriteAsync(hello);

        byte[] buffer = new byte[256];
        int read;
        try
        {
            using var timeout = new CancellationTokenSource(ReceiverHarness.Timeout);
            read = await stream.ReadAsync(buffer, timeout.Token);
        }
        catch (IOException)
        {
            read = 0; // reset: also no answer
        }

        string answer = System.Text.Encoding.ASCII.GetString(buffer, 0, read);
        Assert.DoesNotContain("HTTP/1.1 200", answer, StringComparison.Ordinal);
        Assert.DoesNotContain("HTTP/1.1 4", answer, StringComparison.Ordinal);
        await Eventually.TrueAsync(() => Harness.Receiver.Counters.HandshakeFailed("not_tls") > before, "not_tls counter");
        await AssertLoggedAsync("refused: not_tls");
    }

    [Fact]
    public async Task Tls_1_1_is_refused_when_min_version_is_1_2()
    {
        string? openssl = FindOnPath("openssl");
        if (openssl is null)
        {
            return; // the managed client cannot offer TLS 1.1 on current OpenSSL; without the CLI there is nothing to test with
        }

        long before = Harness.Receiver.Counters.HandshakeFailed("protocol_version");
        var start = new ProcessStartInfo(openssl)
        {
            ArgumentList = { "s_client", "-connect", $"127.0.0.1:{Harness.Receiver.HttpEndpoint!.Port}", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0" },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process process = Process.Start(start)!;
        process.StandardInput.Close();
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ReceiverHarness.Timeout);
        await process.WaitForExitAsync(timeout.Token);

        Assert.NotEqual(0, process.ExitCode);
        Assert.Contains("Cipher is (NONE)", await output + await error, StringComparison.Ordinal);
        await Eventually.TrueAsync(() => Harness.Receiver.Counters.HandshakeFailed("protocol_version") > before, "protocol_version counter");
        await AssertLoggedAsync("refused: protocol_version");
    }

    /// <summary>The operator-facing line: HandshakeRefused at Debug (peer-caused, so not above Debug) with the cause.</summary>
    private async Task AssertLoggedAsync(string fragment) =>
        await Eventually.TrueAsync(
            () => fixture.Logs.Messages.Any(m => m.Level == LogLevel.Debug && m.Text.Contains("TLS handshake from", StringComparison.Ordinal) && m.Text.EndsWith(fragment, StringComparison.Ordinal)),
            $"a Debug log line ending \"{fragment}\"");

    [Fact]
    public async Task A_client_no_tenant_rule_admits_is_403_and_permission_denied()
    {
        using var pki = new ReceiverTestPki();
        using IssuedCertificate other = DevPki.IssueClient(pki.Ca, "billing", uris: ["spiffe://corp/ns/billing/sa/worker"]);
        using var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(pki, tenants: [PaymentsRule()], loggerFactory: loggers);
        using HttpClient client = harness.CreateClient(other.Certificate);

        using HttpResponseMessage http = await client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), OtlpTestData.Traces(1), "application/x-protobuf"));
        GrpcResult grpc = await ReceiverHarness.SendGrpcAsync(client, ReceiverHarness.GrpcPost(harness.GrpcUri("/opentelemetry.proto.collector.trace.v1.TraceService/Export"), OtlpTestData.GrpcFrame(OtlpTestData.Traces(1))));

        Assert.Equal(HttpStatusCode.Forbidden, http.StatusCode);
        string message = Google.Rpc.Status.Parser.ParseFrom(await http.Content.ReadAsByteArrayAsync()).Message;
        Assert.Equal("no tenant rule admits the client identities: cn:billing, uri:spiffe://corp/ns/billing/sa/worker", message);
        Assert.Equal(GrpcCodes.PermissionDenied, grpc.GrpcStatus);
        Assert.Equal(0, harness.Sink.Items(OtlpSignal.Traces));
        // Identities are not secret and the operator needs them to write a rule: a Warning (once a minute per identity;
        // the gRPC request's refusal, the second, is Debug) with the exact count in the counter.
        Assert.Single(logs.Messages, m => m.Level == LogLevel.Warning
            && m.Text.Contains("refused (permission denied): no tenant rule admits the client identities: cn:billing, uri:spiffe://corp/ns/billing/sa/worker (0 more refusals", StringComparison.Ordinal));
        Assert.Equal(2, harness.Receiver.Counters.Refused(ReceiveFailure.PermissionDenied));
    }

    [Fact]
    public async Task A_wildcard_spiffe_rule_admits_and_names_the_tenant()
    {
        using var pki = new ReceiverTestPki();
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(pki, tenants: [PaymentsRule()]);
        using HttpClient client = harness.CreateClient(pki.Client.Certificate);

        using HttpResponseMessage http = await client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), OtlpTestData.Traces(2), "application/x-protobuf"));

        Assert.Equal(HttpStatusCode.OK, http.StatusCode);
        Assert.Equal("payments", harness.Sink.LastTenant);
        Assert.Equal("uri:" + ReceiverTestPki.ClientSpiffeId, harness.Sink.LastIdentity);
    }

    private static TenantRule PaymentsRule() => new() { Tenant = "payments", Identities = ["uri:spiffe://corp/ns/payments/*"] };

    private HttpRequestMessage Post() => ReceiverHarness.HttpPost(Harness.HttpUri("/v1/traces"), OtlpTestData.Traces(1), "application/x-protobuf");

    private static string? FindOnPath(string name)
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            string candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
