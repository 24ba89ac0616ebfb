using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Collector.Trace.V1;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Hosting;
using TraceSeal.Pki;
using TraceSeal.Query;
using TraceSeal.Sealing;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;

namespace TraceSeal.Storage.Tests;

/// <summary>
/// The whole collector from YAML (mTLS OTLP/HTTP receiver → sealed_store) writes nothing readable: no file
/// under the data directory holds the marker, a trace id or the service name — in clear, decompressed, or as protobuf.
/// </summary>
public sealed class PlaintextScanTests : IDisposable
{
    private const string Service = "checkout-svc-7f3a";
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-scan-").FullName;
    private readonly string _marker = "MARKER-" + Guid.NewGuid().ToString("N");

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Nothing_under_the_data_directory_contains_the_marker_trace_ids_or_service_name()
    {
        DevPki.Init(_dir, ["localhost", "127.0.0.1"]);
        KeyFiles.Init(Path.Combine(_dir, "keys"), "ops");
        var config = CollectorConfigLoader.Parse("""
            receivers:
              otlp:
                protocols:
                  http:
                    endpoint: 127.0.0.1:0
                    tls:
                      cert_file: server.crt
                      key_file: server.key
                      client_ca_file: ca.crt
            exporters:
              sealed_store:
                directory: data
                recipients: [keys/ops.recipient.pem]
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [sealed_store]
            """, Path.Combine(_dir, "collector.yaml"));
        var data = Path.Combine(_dir, "data");
        var requests = new[] { Request(Service, [1, 2], children: true, marker: _marker), Request(Service, [3], marker: _marker) };

        await using (var host = CollectorHost.Create(config, NullLoggerFactory.Instance))
        {
            await host.StartAsync(CancellationToken.None);
            using var client = Client();
            var url = $"https://localhost:{host.Receivers[0].HttpEndpoint!.Port}/v1/traces";
            foreach (var request in requests)
            {
                var content = new ByteArrayContent(request.ToByteArray());
                content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
                var response = await client.PostAsync(url, content);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            AssertNothingReadable(data, expectFiles: "*.wal"); // acknowledged = in the sealed WAL
        }

        AssertNothingReadable(data, expectFiles: "*.block"); // stopped = in sealed blocks and indexes

        // The data is there for the identity holder.
        var reader = new StoreReader(data, [KeyFiles.LoadIdentity(Path.Combine(_dir, "keys", "ops.identity.pem"))]);
        Assert.Equal(Merge(requests), reader.Query(new TraceQuery { Service = Service, Tenant = "default" }).Request);
        Assert.Equal(3, reader.Query(new TraceQuery { Attributes = [new("marker", _marker)] }).SpanCount); // the parents carry it
    }

    private void AssertNothingReadable(string data, string expectFiles)
    {
        Assert.NotEmpty(Directory.GetFiles(data, expectFiles, SearchOption.AllDirectories));
        var needles = new List<(string What, byte[] Bytes)>
        {
            ("marker", Encoding.UTF8.GetBytes(_marker)),
            ("marker (UTF-16)", Encoding.Unicode.GetBytes(_marker)),
            ("service name", Encoding.UTF8.GetBytes(Service)),
        };
        foreach (var t in new[] { 1, 2, 3 })
        {
            needles.Add(($"trace id {t} (raw)", TraceId(t)));
            needles.Add(($"trace id {t} (hex)", Encoding.ASCII.GetBytes(Convert.ToHexStringLower(TraceId(t)))));
            needles.Add(($"trace id {t} (HEX)", Encoding.ASCII.GetBytes(Convert.ToHexString(TraceId(t)))));
            needles.Add(($"trace id {t} (base64)", Encoding.ASCII.GetBytes(Convert.ToBase64String(TraceId(t)))));
        }

        foreach (var file in Directory.GetFiles(data, "*", SearchOption.AllDirectories))
        {
            Assert.DoesNotContain(_marker, file, StringComparison.Ordinal);
            Assert.DoesNotContain(Service, file, StringComparison.Ordinal);
            if (Path.GetFileName(file) == "store.lock")
            {
                Assert.Equal(0, new FileInfo(file).Length); // held (flock) while the collector runs; never written
                continue;
            }

            var bytes = File.ReadAllBytes(file);
            foreach (var view in Views(bytes))
            {
                foreach (var (what, needle) in needles)
                {
                    Assert.False(view.Bytes.AsSpan().IndexOf(needle) >= 0, $"{file}: {what} found {view.How}");
                }

                // As protobuf: whatever parses as an export request must not carry our spans.
                try
                {
                    var parsed = ExportTraceServiceRequest.Parser.ParseFrom(view.Bytes);
                    Assert.DoesNotContain(_marker, parsed.ToString(), StringComparison.Ordinal);
                }
                catch (InvalidProtocolBufferException)
                {
                }
            }
        }
    }

    /// <summary>The file itself, and every gzip / zlib / raw deflate stream that decompresses from any offset.</summary>
    internal static IEnumerable<(string How, byte[] Bytes)> Views(byte[] bytes)
    {
        yield return ("in clear", bytes);
        for (int offset = 0; offset < bytes.Length - 2; offset++)
        {
            bool gzip = bytes[offset] == 0x1f && bytes[offset + 1] == 0x8b;
            bool zlib = bytes[offset] == 0x78 && bytes[offset + 1] is 0x01 or 0x5e or 0x9c or 0xda;
            foreach (var kind in new[] { gzip ? "gzip" : null, zlib ? "zlib" : null, "deflate" })
            {
                if (kind is null)
                {
                    continue;
                }

                var inflated = TryInflate(bytes, offset, kind);
                if (inflated is { Length: > 16 })
                {
                    yield return ($"after {kind} decompression at offset {offset}", inflated);
                }
            }
        }
    }

    private static byte[]? TryInflate(byte[] bytes, int offset, string kind)
    {
        try
        {
            using var input = new MemoryStream(bytes, offset, bytes.Length - offset);
            using Stream z = kind switch
            {
                "gzip" => new GZipStream(input, CompressionMode.Decompress),
                "zlib" => new ZLibStream(input, CompressionMode.Decompress),
                _ => new DeflateStream(input, CompressionMode.Decompress),
            };
            var output = new MemoryStream();
            var buffer = new byte[4096];
            int n;
            while ((n = z.Read(buffer)) > 0 && output.Length < (1 << 20))
            {
                output.Write(buffer, 0, n);
            }

            return output.ToArray();
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    private HttpClient Client()
    {
        var clientCert = DevPki.Load(Path.Combine(_dir, "client.crt"), Path.Combine(_dir, "client.key"));
        var handler = new SocketsHttpHandler();
        handler.SslOptions.ClientCertificates = [clientCert.Certificate];
        var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_dir, "ca.crt"));
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return cert is X509Certificate2 c && chain.Build(c);
        };
        return new HttpClient(handler);
    }
}
