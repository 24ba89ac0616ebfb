using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Pki;

namespace TraceSeal.Collector.Tests.Hosting;

/// <summary>
/// A temp directory with a dev PKI (`certs init` layout) and helpers to write a collector YAML around it and
/// to build an mTLS HttpClient that trusts only that CA.
/// </summary>
public sealed class MtlsHostEnvironment : IDisposable
{
    public MtlsHostEnvironment()
    {
        Directory.CreateDirectory(Dir);
        DevPki.Init(Dir, ["localhost", "127.0.0.1"]);
        ClientCertificate = DevPki.Load(Path.Combine(Dir, "client.crt"), Path.Combine(Dir, "client.key"));
    }

    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "traceseal-host-" + Guid.NewGuid().ToString("N"));

    public IssuedCertificate ClientCertificate { get; }

    public string ConfigPath => Path.Combine(Dir, "collector.yaml");

    public void Dispose()
    {
        ClientCertificate.Dispose();
        Directory.Delete(Dir, recursive: true);
    }

    /// <summary>An mTLS http receiver on 127.0.0.1:0, a batch processor, the discard exporter and the given pipelines.</summary>
    public static string Yaml(string pipelines) => $$"""
        receivers:
          otlp:
            protocols:
              http:
                endpoint: 127.0.0.1:0
                tls:
                  cert_file: server.crt
                  key_file: server.key
                  client_ca_file: ca.crt
        processors:
          batch: {}
        exporters:
          discard: {}
        service:
          pipelines:
        {{pipelines}}
        """;

    public const string TracesPipeline = """
                traces:
                  receivers: [otlp]
                  processors: [batch]
                  exporters: [discard]
        """;

    public HttpClient Client()
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.ClientCertificates = [ClientCertificate.Certificate];
        var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(Dir, "ca.crt"));
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

    public static ByteArrayContent Protobuf(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return content;
    }

    public static ExportTraceServiceRequest Spans(int count)
    {
        var scope = new ScopeSpans();
        for (int i = 0; i < count; i++)
        {
            scope.Spans.Add(new Span
            {
                TraceId = ByteString.CopyFrom(Enumerable.Repeat((byte)(i + 1), 16).ToArray()),
                SpanId = ByteString.CopyFrom(Enumerable.Repeat((byte)(i + 1), 8).ToArray()),
                Name = "op", StartTimeUnixNano = 1, EndTimeUnixNano = 2,
            });
        }

        return new ExportTraceServiceRequest { ResourceSpans = { new ResourceSpans { ScopeSpans = { scope } } } };
    }
}
