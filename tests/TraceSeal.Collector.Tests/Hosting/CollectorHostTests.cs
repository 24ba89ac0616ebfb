using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Hosting;
using TraceSeal.Otlp;
using TraceSeal.Pki;

namespace TraceSeal.Collector.Tests.Hosting;

/// <summary>The whole collector from YAML: config → host → mTLS receiver → pipeline → exporter.</summary>
public sealed class CollectorHostTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "traceseal-host-" + Guid.NewGuid().ToString("N"));
    private readonly IssuedCertificate _client;

    public CollectorHostTests()
    {
        Directory.CreateDirectory(_dir);
        DevPki.Init(_dir, ["localhost", "127.0.0.1"]);
        _client = DevPki.Load(Path.Combine(_dir, "client.crt"), Path.Combine(_dir, "client.key"));
    }

    public void Dispose()
    {
        _client.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string Yaml(string pipelines) => $$"""
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

    private HttpClient Client()
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.ClientCertificates = [_client.Certificate];
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

    private static ByteArrayContent Spans(int count)
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

        var request = new ExportTraceServiceRequest { ResourceSpans = { new ResourceSpans { ScopeSpans = { scope } } } };
        var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return content;
    }

    [Fact]
    public async Task Spans_sent_over_mutual_tls_reach_the_exporter_of_the_pipeline()
    {
        var config = CollectorConfigLoader.Parse(Yaml("""
                traces:
                  receivers: [otlp]
                  processors: [batch]
                  exporters: [discard]
        """), Path.Combine(_dir, "collector.yaml"));
        await using var host = CollectorHost.Create(config, NullLoggerFactory.Instance);
        await host.StartAsync(CancellationToken.None);
        var port = host.Receivers[0].HttpEndpoint!.Port;
        using var client = Client();

        var response = await client.PostAsync($"https://localhost:{port}/v1/traces", Spans(7));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var discard = Assert.IsType<DiscardExporter>(host.Exporters["discard"]);
        Assert.Equal(7, discard.Items(OtlpSignal.Traces));
        Assert.Equal(7, discard.ItemsForTenant("default"));
    }

    [Fact]
    public async Task A_signal_without_a_pipeline_is_refused_as_unsupported_not_retryable()
    {
        var config = CollectorConfigLoader.Parse(Yaml("""
                logs:
                  receivers: [otlp]
                  processors: [batch]
                  exporters: [discard]
        """), Path.Combine(_dir, "collector.yaml"));
        await using var host = CollectorHost.Create(config, NullLoggerFactory.Instance);
        await host.StartAsync(CancellationToken.None);
        using var client = Client();

        var response = await client.PostAsync($"https://localhost:{host.Receivers[0].HttpEndpoint!.Port}/v1/traces", Spans(1));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Null(response.Headers.RetryAfter);
        Assert.Equal(0, ((DiscardExporter)host.Exporters["discard"]).Items(OtlpSignal.Traces));
    }

    [Fact]
    public async Task A_receiver_that_cannot_start_leaves_nothing_listening()
    {
        var config = CollectorConfigLoader.Parse(Yaml("""
                traces:
                  receivers: [otlp]
                  processors: [batch]
                  exporters: [discard]
        """), Path.Combine(_dir, "collector.yaml"));
        // The loader checked the file; it disappears before the collector starts (a botched deploy).
        File.Delete(Path.Combine(_dir, "server.key"));
        await using var host = CollectorHost.Create(config, NullLoggerFactory.Instance);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(CancellationToken.None));

        Assert.Contains("key_file", error.Message);
        Assert.Contains("server.key", error.Message);
        Assert.Null(host.Receivers[0].HttpEndpoint);
    }
}
