using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Hosting;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Pki;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Collector.Tests.Hosting;

/// <summary>
/// cert-manager renews the certificate; the kubelet updates the mounted Secret the way AtomicWriter does: the files
/// (`tls.crt`, `tls.key`, `ca.crt`) are symlinks into `..data/`, `..data` is a symlink to a timestamped directory, and
/// an update writes a new timestamped directory, points a new `..data_tmp` symlink at it and renames that over
/// `..data` (one atomic rename(2)), then removes the old directory. The receiver must serve the new certificate to
/// new connections with no request failing on the way (deploy/kubernetes mounts the Secret exactly so).
/// </summary>
public sealed class SecretSwapReloadTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-secret-").FullName;
    private readonly IssuedCertificate _ca = DevPki.CreateCa("cert-manager internal-ca");
    private readonly IssuedCertificate _client;

    public SecretSwapReloadTests() => _client = DevPki.IssueClient(_ca, "my-application");

    private string Secret => Path.Combine(_dir, "certs");

    public void Dispose()
    {
        _client.Dispose();
        _ca.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_kubelet_secret_update_is_served_to_new_connections_with_no_failed_request()
    {
        using IssuedCertificate first = DevPki.IssueServer(_ca, "otel-collector.observability.svc", ["localhost", "127.0.0.1"]);
        using IssuedCertificate renewed = DevPki.IssueServer(_ca, "otel-collector.observability.svc", ["localhost", "127.0.0.1"]);
        string oldData = WriteSecretVersion("..2026_12_06_10_00_00.000000001", first);
        Directory.CreateDirectory(Secret);
        File.CreateSymbolicLink(Path.Combine(Secret, "..data"), Path.GetFileName(oldData));
        foreach (string name in (string[])["tls.crt", "tls.key", "ca.crt"])
        {
            File.CreateSymbolicLink(Path.Combine(Secret, name), Path.Combine("..data", name));
        }

        // The receiver block of deploy/kubernetes/collector-config.yaml, with the mount under this test's directory.
        var config = CollectorConfigLoader.Parse("""
            receivers:
              otlp:
                protocols:
                  http:
                    endpoint: 127.0.0.1:0
                    tls:
                      cert_file: certs/tls.crt
                      key_file: certs/tls.key
                      client_ca_file: certs/ca.crt
                      reload_interval: 1h
            exporters:
              discard:
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [discard]
            """, Path.Combine(_dir, "collector.yaml"));
        await using var host = CollectorHost.Create(config, NullLoggerFactory.Instance);
        await host.StartAsync(CancellationToken.None);
        var url = new Uri($"https://localhost:{host.Receivers[0].HttpEndpoint!.Port}/v1/traces");
        var reloader = host.Receivers[0].TlsReloaders[0];

        // Four clients, each request on a new connection (so each one is a new handshake), for the whole update.
        var served = new ConcurrentDictionary<string, long>();
        var failures = new ConcurrentQueue<string>();
        long ok = 0;
        using var stop = new CancellationTokenSource();
        Task[] clients = [.. Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                string? serial = null;
                using var http = new HttpClient(Handler(s => serial = s));
                try
                {
                    using HttpResponseMessage response = await http.PostAsync(url, Protobuf(OtlpTestData.Traces(2)));
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref ok);
                        served.AddOrUpdate(serial!, 1, (_, n) => n + 1);
                    }
                    else
                    {
                        failures.Enqueue($"HTTP {(int)response.StatusCode}");
                    }
                }
                catch (HttpRequestException e)
                {
                    failures.Enqueue(e.Message);
                }
            }
        }))];
        await Eventually.TrueAsync(() => served.ContainsKey(first.Certificate.SerialNumber) && Interlocked.Read(ref ok) >= 8, "requests served with the first certificate", TimeSpan.FromSeconds(60));

        // The kubelet's update: new timestamped directory, new ..data_tmp symlink, rename over ..data, old directory removed.
        string newData = WriteSecretVersion("..2026_12_06_11_00_00.000000002", renewed);
        string temp = Path.Combine(Secret, "..data_tmp");
        File.CreateSymbolicLink(temp, Path.GetFileName(newData));
        Assert.Equal(0, Rename(temp, Path.Combine(Secret, "..data")));
        Directory.Delete(oldData, recursive: true);

        await reloader.WaitAsync(r => r.Current.ServerCertificate.SerialNumber == renewed.Certificate.SerialNumber, new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        await Eventually.TrueAsync(() => served.GetValueOrDefault(renewed.Certificate.SerialNumber) >= 8, "requests served with the renewed certificate", TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        Assert.Empty(failures);
        Assert.Equal(1, reloader.Generation);
        Assert.Equal(0, reloader.Failures);
        Assert.Equal(2, served.Count); // the first certificate, then the renewed one: nothing else was ever served
        Assert.Equal(Interlocked.Read(ref ok) * 2, ((TraceSeal.Collector.Exporters.Discard.DiscardExporter)host.Exporters["discard"]).Items(TraceSeal.Otlp.OtlpSignal.Traces));
    }

    /// <summary>One version of the Secret as the kubelet writes it: a timestamped directory with cert-manager's three keys.</summary>
    private string WriteSecretVersion(string name, IssuedCertificate server)
    {
        string dir = Path.Combine(Secret, name);
        Directory.CreateDirectory(dir);
        server.WriteFiles(Path.Combine(dir, "tls.crt"), Path.Combine(dir, "tls.key"));
        File.WriteAllText(Path.Combine(dir, "ca.crt"), _ca.CertificatePem);
        return dir;
    }

    private SocketsHttpHandler Handler(Action<string> serverSerial)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero };
        handler.SslOptions.ClientCertificates = [_client.Certificate];
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(_ca.Certificate);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (cert is not X509Certificate2 c || !chain.Build(c))
            {
                return false;
            }

            serverSerial(c.SerialNumber);
            return true;
        };
        return handler;
    }

    private static ByteArrayContent Protobuf(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return content;
    }

    /// <summary>rename(2), as the kubelet swaps `..data`: .NET's File.Move would follow the symlink to the directory.</summary>
    private static int Rename(string from, string to) => NativeMethods.rename(from, to) == 0 ? 0 : Marshal.GetLastPInvokeError();

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
#pragma warning disable SYSLIB1054, CA2101 // one call per test; string marshalling as UTF-8 paths is what libc wants
        public static extern int rename([MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath);
#pragma warning restore SYSLIB1054, CA2101
    }
}
