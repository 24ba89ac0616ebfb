using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Tests.TestSupport;

namespace TraceSeal.Collector.Tests.Receivers;

public sealed class ReceiverStartTests
{
    [Fact]
    public async Task A_missing_cert_file_fails_start_with_the_key_the_file_and_the_fix()
    {
        using var pki = new ReceiverTestPki();
        string missing = Path.Combine(pki.Dir, "nope", "server.crt");
        var settings = Settings(new TlsServerSettings { CertFile = missing, KeyFile = pki.ServerKeyPath, ClientCaFile = pki.CaPath });
        await using var receiver = new OtlpReceiver(settings, new CountingSink(), NullLoggerFactory.Instance);

        var ex = await Assert.ThrowsAsync<ReceiverStartException>(() => receiver.StartAsync(CancellationToken.None));

        Assert.Equal($"receivers::otlp::protocols::grpc::tls::cert_file: file not found: {missing}; TLS needs the server certificate (PEM) that clients verify", ex.Message);
        Assert.Null(receiver.GrpcEndpoint);
    }

    [Fact]
    public async Task A_missing_client_ca_file_names_mutual_tls()
    {
        using var pki = new ReceiverTestPki();
        string missing = Path.Combine(pki.Dir, "ca-missing.crt");
        var settings = Settings(new TlsServerSettings { CertFile = pki.ServerCertPath, KeyFile = pki.ServerKeyPath, ClientCaFile = missing });
        await using var receiver = new OtlpReceiver(settings, new CountingSink(), NullLoggerFactory.Instance);

        var ex = await Assert.ThrowsAsync<ReceiverStartException>(() => receiver.StartAsync(CancellationToken.None));

        Assert.Equal($"receivers::otlp::protocols::grpc::tls::client_ca_file: file not found: {missing}; mutual TLS needs the CA that signed your clients' certificates", ex.Message);
    }

    [Fact]
    public async Task An_unknown_cipher_suite_fails_start()
    {
        using var pki = new ReceiverTestPki();
        var tls = new TlsServerSettings { CertFile = pki.ServerCertPath, KeyFile = pki.ServerKeyPath, CipherSuites = ["TLS_FAKE_WITH_NOTHING"] };
        await using var receiver = new OtlpReceiver(Settings(tls), new CountingSink(), NullLoggerFactory.Instance);

        var ex = await Assert.ThrowsAsync<ReceiverStartException>(() => receiver.StartAsync(CancellationToken.None));

        Assert.StartsWith("receivers::otlp::protocols::grpc::tls::cipher_suites: unknown cipher suite \"TLS_FAKE_WITH_NOTHING\"", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plaintext_listener_warns_at_start_and_serves()
    {
        using var pki = new ReceiverTestPki();
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(pki, loggerFactory: loggerFactory, plaintext: true);
        using var client = new HttpClient();

        using var request = ReceiverHarness.HttpPost(new Uri($"http://127.0.0.1:{harness.Receiver.HttpEndpoint!.Port}/v1/traces"), OtlpTestData.Traces(2), "application/x-protobuf", version: System.Net.HttpVersion.Version11);
        using HttpResponseMessage response = await client.SendAsync(request);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("anonymous", harness.Sink.LastIdentity);
        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Warning && m.Text.StartsWith($"receiver otlp grpc on 127.0.0.1:{harness.Receiver.GrpcEndpoint!.Port} accepts PLAINTEXT because allow_plaintext: true", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Warning && m.Text.StartsWith("receiver otlp http on", StringComparison.Ordinal));
    }

    private static OtlpReceiverSettings Settings(TlsServerSettings tls) => new()
    {
        Name = "otlp",
        Grpc = new OtlpProtocolSettings { Endpoint = "127.0.0.1:0", Tls = tls, MaxRequestBytes = 1024 },
    };
}
