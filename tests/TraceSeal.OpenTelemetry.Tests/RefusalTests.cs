using System.Net;
using System.Net.Sockets;
using TraceSeal.OpenTelemetry.Tests.Infrastructure;

namespace TraceSeal.OpenTelemetry.Tests;

/// <summary>
/// Each way an export must not happen, with its own message — read like the seeds' troubleshooting section:
/// one scenario, one cause, one asserted message.
/// </summary>
[Collection(SdkCollection.Name)]
public sealed class RefusalTests(TestPki pki)
{
    [Fact]
    public async Task A_server_certificate_from_another_CA_is_refused_even_though_that_CA_is_trusted_elsewhere()
    {
        // The server's chain is complete and valid under "Some Public CA" (think: the system store); the app
        // configured ca.crt. Only ca.crt counts.
        await using var receiver = await Receiver.StartAsync(pki, pki.OtherServerCertificate, pki.OtherServerKey);
        using var app = TestApp.Start(TestApp.MutualTls(pki, receiver.HttpUrl, "http/protobuf"));

        app.Export(3);

        await Eventually.WaitUntilAsync(() => app.Logs.Count("ServerCertificateUntrusted") > 0, TimeSpan.FromSeconds(20), () => app.Logs.ToString());
        string message = app.Logs.Messages("ServerCertificateUntrusted").First();
        Assert.Contains("does not chain to the CA configured in OTEL_EXPORTER_OTLP_CERTIFICATE=" + pki.CaCertificate, message, StringComparison.Ordinal);
        Assert.Contains("issued by CN=Some Public CA", message, StringComparison.Ordinal);
        Assert.Contains("the system trust store is never consulted", message, StringComparison.Ordinal);
        Assert.Equal(0, app.Logs.Count("ServerHostnameMismatch"));
        Assert.Equal(0, app.Logs.Count("Retrying"));
        Assert.Empty(receiver.Batches);
    }

    [Fact]
    public async Task A_server_certificate_without_the_host_is_refused_as_a_hostname_mismatch()
    {
        await using var receiver = await Receiver.StartAsync(pki, pki.WrongHostServerCertificate, pki.WrongHostServerKey);
        using var app = TestApp.Start(TestApp.MutualTls(pki, receiver.GrpcUrl, "grpc"));

        app.Export(3);

        await Eventually.WaitUntilAsync(() => app.Logs.Count("ServerHostnameMismatch") > 0, TimeSpan.FromSeconds(20), () => app.Logs.ToString());
        string message = app.Logs.Messages("ServerHostnameMismatch").First();
        Assert.Contains("does not name the host '127.0.0.1'", message, StringComparison.Ordinal);
        Assert.Contains("collector.example", message, StringComparison.Ordinal);
        Assert.Equal(0, app.Logs.Count("ServerCertificateUntrusted"));
        Assert.Empty(receiver.Batches);
    }

    [Fact]
    public async Task A_plaintext_endpoint_without_INSECURE_fails_at_start_up_and_sends_nothing()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var env = TestApp.MutualTls(pki, $"http://127.0.0.1:{port}", "http/protobuf");

        var e = Assert.Throws<SecureOtlpConfigurationException>(() => TestApp.Start(env));

        Assert.Contains($"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{port}: plaintext http:// endpoint", e.Message, StringComparison.Ordinal);
        Assert.Contains("OTEL_EXPORTER_OTLP_INSECURE=true", e.Message, StringComparison.Ordinal);

        // The listener never sees a connection, let alone a byte.
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await listener.AcceptTcpClientAsync(wait.Token));
    }

    [Fact]
    public async Task A_misconfigured_app_pointed_at_a_plaintext_listener_sends_it_zero_bytes_of_telemetry()
    {
        // Even with TLS configured correctly, a listener that does not speak TLS gets only a ClientHello: no OTLP.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var received = new MemoryStream();
        Task accept = Task.Run(async () =>
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                using TcpClient client = await listener.AcceptTcpClientAsync(wait.Token);
                byte[] buffer = new byte[4096];
                NetworkStream stream = client.GetStream();
                int read;
                while ((read = await stream.ReadAsync(buffer, wait.Token)) > 0)
                {
                    received.Write(buffer, 0, read);
                    if (received.Length > 0)
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        using (var app = TestApp.Start(TestApp.MutualTls(pki, $"https://127.0.0.1:{port}", "http/protobuf")))
        {
            app.Export(3, "secret-span-name");
        }

        await accept;
        byte[] bytes = received.ToArray();
        Assert.NotEmpty(bytes);
        Assert.Equal(0x16, bytes[0]); // a TLS handshake record, nothing else
        Assert.DoesNotContain("secret-span-name", System.Text.Encoding.ASCII.GetString(bytes), StringComparison.Ordinal);
        Assert.DoesNotContain("POST", System.Text.Encoding.ASCII.GetString(bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void An_expired_client_certificate_fails_at_start_up()
    {
        var env = TestApp.MutualTls(pki, "https://127.0.0.1:4318", "http/protobuf");
        env["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"] = pki.ExpiredClientCertificate;
        env["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = pki.ExpiredClientKey;

        var e = Assert.Throws<SecureOtlpConfigurationException>(() => TestApp.Start(env));

        Assert.Contains($"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE={pki.ExpiredClientCertificate}: client certificate CN=expired-app expired on", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void INSECURE_true_with_an_https_endpoint_is_a_contradiction()
    {
        var env = TestApp.MutualTls(pki, "https://127.0.0.1:4318", "http/protobuf");
        env["OTEL_EXPORTER_OTLP_INSECURE"] = "true";

        var e = Assert.Throws<SecureOtlpConfigurationException>(() => TestApp.Start(env));

        Assert.Contains("OTEL_EXPORTER_OTLP_INSECURE=true contradicts OTEL_EXPORTER_OTLP_ENDPOINT=https://127.0.0.1:4318", e.Message, StringComparison.Ordinal);
    }
}
