using System.Net;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Collector.Tls;
using TraceSeal.Pki;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Collector.Tests.Receivers;

public sealed class CertificateReloadTests
{
    [Fact]
    public async Task Rotating_server_cert_and_client_ca_under_load_fails_no_request_and_a_broken_file_keeps_the_old_material()
    {
        using var pki = new ReceiverTestPki();
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(pki);
        CertificateReloader reloader = harness.Receiver.TlsReloaders[1]; // http
        string originalSerial = pki.Server.Certificate.SerialNumber;

        // A client loop on fresh connections for the whole rotation.
        using var stop = new CancellationTokenSource();
        long ok = 0, failed = 0;
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Task loop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using HttpClient client = harness.CreateClient(pki.Client.Certificate);
                try
                {
                    using HttpResponseMessage response = await client.SendAsync(Post(harness));
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref ok);
                    }
                    else
                    {
                        Interlocked.Increment(ref failed);
                        errors.Enqueue(response.StatusCode.ToString());
                    }
                }
                catch (HttpRequestException ex)
                {
                    Interlocked.Increment(ref failed);
                    errors.Enqueue(ex.Message);
                }
            }
        });
        await Eventually.TrueAsync(() => Interlocked.Read(ref ok) > 3, "the client loop to get going");

        // 1. New server certificate + key (new serial), written the way `certs init` writes them.
        using IssuedCertificate rotated = DevPki.IssueServer(pki.Ca, "localhost", ["localhost", "127.0.0.1"]);
        rotated.WriteFiles(pki.ServerCertPath, pki.ServerKeyPath);
        await reloader.WaitAsync(r => r.Current.ServerCertificate.SerialNumber == rotated.Certificate.SerialNumber, Cancel());

        // 2. A second client CA appended to the bundle: old clients keep working, new ones are admitted.
        using IssuedCertificate ca2 = DevPki.CreateCa("Second CA");
        using IssuedCertificate client2 = DevPki.IssueClient(ca2, "new-app", uris: ["spiffe://corp/ns/new/sa/app"]);
        File.WriteAllText(pki.CaPath, pki.Ca.CertificatePem + ca2.CertificatePem);
        await reloader.WaitAsync(r => r.Current.ClientCa!.Count == 2, Cancel());
        long okAfterRotation = Interlocked.Read(ref ok);
        await Eventually.TrueAsync(() => Interlocked.Read(ref ok) > okAfterRotation + 3, "requests after the rotation");

        using HttpClient fresh = harness.CreateClient(client2.Certificate);
        using HttpResponseMessage viaNewCa = await fresh.SendAsync(Post(harness));
        Assert.Equal(HttpStatusCode.OK, viaNewCa.StatusCode);
        Assert.Equal(rotated.Certificate.SerialNumber, harness.LastServerSerial);
        Assert.NotEqual(originalSerial, harness.LastServerSerial);

        // 3. A half-written certificate: the reload fails, the last good material stays.
        long failures = reloader.Failures;
        File.WriteAllText(pki.ServerCertPath, "-----BEGIN CERTIFICATE-----\nMIIB");
        await reloader.WaitAsync(r => r.Failures > failures, Cancel());
        long okAfterBroken = Interlocked.Read(ref ok);
        await Eventually.TrueAsync(() => Interlocked.Read(ref ok) > okAfterBroken + 3, "requests after the broken write");
        Assert.Equal(rotated.Certificate.SerialNumber, reloader.Current.ServerCertificate.SerialNumber);

        await stop.CancelAsync();
        await loop;
        Assert.True(failed == 0, $"{failed} failed requests during rotation: {string.Join(" | ", errors.Take(5))}");
        Assert.Equal(rotated.Certificate.SerialNumber, harness.LastServerSerial);
    }

    [Fact]
    public async Task A_key_that_does_not_match_is_refused_with_the_file_named()
    {
        using var pki = new ReceiverTestPki();
        using IssuedCertificate other = DevPki.IssueServer(pki.Ca, "localhost", ["localhost"]);
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(pki);
        CertificateReloader reloader = harness.Receiver.TlsReloaders[0];
        long failures = reloader.Failures;

        File.WriteAllText(pki.ServerKeyPath, other.PrivateKeyPem);
        await reloader.WaitAsync(r => r.Failures > failures, Cancel());

        Assert.Equal(pki.Server.Certificate.SerialNumber, reloader.Current.ServerCertificate.SerialNumber);
        Assert.False(TlsMaterial.TryLoad(pki.Tls(), "receivers::otlp::protocols::grpc::tls::", null, out _, out _, out string? error));
        Assert.StartsWith($"receivers::otlp::protocols::grpc::tls::key_file: {pki.ServerKeyPath} is not the unencrypted PEM private key of cert_file {pki.ServerCertPath}", error, StringComparison.Ordinal);
    }

    private static HttpRequestMessage Post(ReceiverHarness harness)
        => ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), OtlpTestData.Traces(1), "application/x-protobuf");

    private static CancellationToken Cancel() => new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token;
}
