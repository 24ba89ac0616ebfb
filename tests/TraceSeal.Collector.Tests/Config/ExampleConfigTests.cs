using System.Runtime.CompilerServices;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Processors.Batch;
using TraceSeal.Collector.Processors.MemoryLimiter;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.Config;

/// <summary>The complete example in docs/configuration.md loads and yields exactly what the docs say (docs and code cannot drift).</summary>
public sealed class ExampleConfigTests : IDisposable
{
    private readonly ConfigFixture _f = new();

    public ExampleConfigTests()
    {
        foreach (var name in (string[])["server.crt", "server.key", "ca.crt", "client.crt", "client.key"])
        {
            _f.Write("certs/" + name, File.ReadAllText(_f.Path(name)));
        }
    }

    public void Dispose() => _f.Dispose();

    [Fact]
    public void DocsExample_LoadsWithEverySetting()
    {
        _f.Env["TRACESEAL_BUCKET"] = "traces-prod";

        var config = _f.Parse(DocsExample());

        var otlp = Assert.Single(config.Receivers);
        Assert.Equal("0.0.0.0:4317", otlp.Grpc!.Endpoint);
        Assert.Equal(8L * 1024 * 1024, otlp.Grpc.MaxRequestBytes);
        Assert.Equal("1.3", otlp.Grpc.Tls!.MinVersion);
        Assert.Equal(TimeSpan.FromHours(1), otlp.Grpc.Tls.ReloadInterval);
        Assert.Equal(_f.Path("certs/ca.crt"), otlp.Http!.Tls!.ClientCaFile);
        Assert.Equal(10L * 1024 * 1024, otlp.Http.MaxRequestBytes);
        Assert.Equal(["payments", "web"], otlp.Tenants.Select(t => t.Tenant));
        Assert.Equal(["cn:web-frontend", "dns:*.web.corp.example"], otlp.Tenants[1].Identities);

        var limiter = Assert.IsType<MemoryLimiterSettings>(config.Processors["memory_limiter"]);
        Assert.Equal(TimeSpan.FromSeconds(1), limiter.CheckInterval);
        Assert.Equal(1024, limiter.LimitMib);
        Assert.Equal(256, limiter.SpikeLimitMib);
        Assert.Equal(TimeSpan.FromSeconds(10), limiter.MinGcIntervalWhenSoftLimited);
        Assert.Equal(TimeSpan.Zero, limiter.MinGcIntervalWhenHardLimited);
        var batch = Assert.IsType<BatchSettings>(config.Processors["batch"]);
        Assert.Equal(TimeSpan.FromMilliseconds(200), batch.Timeout);

        var store = Assert.IsType<SealedStoreExporterSettings>(config.Exporters["sealed_store"]);
        Assert.Equal(_f.Path("data"), store.Directory);
        Assert.Equal([_f.Path("keys/ops.recipient.pem"), _f.Path("keys/audit.recipient.pem")], store.Recipients);
        Assert.Equal(SealedStoreDurability.Fsync, store.Durability);
        Assert.Equal("traces-prod", store.S3!.Bucket);
        Assert.True(store.S3.ForcePathStyle);
        Assert.Equal(64L * 1024 * 1024, store.Block.MaxBytes);
        Assert.Equal(TimeSpan.FromDays(30), store.Retention.MaxAge);
        Assert.Null(store.Retention.MaxBytes);
        Assert.Equal(1L << 30, store.Wal.MaxBacklogBytes);

        var upstream = Assert.IsType<OtlpExporterSettings>(config.Exporters["otlp/upstream"]);
        Assert.Equal(OtlpExporterProtocol.Grpc, upstream.Protocol);
        Assert.Equal(_f.Path("certs/client.crt"), upstream.Tls.CertFile);
        Assert.False(upstream.Tls.Insecure);
        Assert.Equal("payments", upstream.Headers["X-Scope"]);
        Assert.Equal(TimeSpan.FromSeconds(30), upstream.Retry.MaxElapsedTime);
        Assert.Equal(4, upstream.Queue.NumConsumers);

        var pipeline = Assert.Single(config.Pipelines);
        Assert.Equal(OtlpSignal.Traces, pipeline.Signal);
        Assert.Equal(["memory_limiter", "batch"], pipeline.Processors);
        Assert.Equal(["sealed_store", "otlp/upstream"], pipeline.Exporters);
        Assert.Equal("json", config.Telemetry.LogEncoding);
        Assert.Equal("127.0.0.1:8888", config.Telemetry.MetricsAddress);
        Assert.Equal(512L * 1024 * 1024, config.Admission.MaxInFlightBytes);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void MinimalConfig_GetsSecureDefaults()
    {
        var config = _f.Parse("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    tls:
                      cert_file: server.crt
                      key_file: server.key
                      client_ca_file: ca.crt
            exporters:
              sealed_store:
                directory: /var/lib/traceseal
                recipients: [keys/ops.recipient.pem]
              otlphttp:
                endpoint: https://central.corp.example:4318
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [sealed_store, otlphttp]
            """);

        var grpc = config.Receivers[0].Grpc!;
        Assert.Equal("localhost:4317", grpc.Endpoint);
        Assert.Equal("1.2", grpc.Tls!.MinVersion);
        Assert.Null(config.Receivers[0].Http);
        var store = Assert.IsType<SealedStoreExporterSettings>(config.Exporters["sealed_store"]);
        Assert.Equal("/var/lib/traceseal", store.Directory);
        Assert.Equal(SealedStoreDurability.Fsync, store.Durability);
        Assert.Null(store.S3);
        Assert.Null(store.Retention.MaxAge);
        var http = Assert.IsType<OtlpExporterSettings>(config.Exporters["otlphttp"]);
        Assert.Equal(TimeSpan.FromSeconds(30), http.Timeout);
        Assert.Equal("gzip", http.Compression);
        Assert.True(http.Retry.Enabled);
        Assert.Equal(new TelemetrySettings().MetricsAddress, config.Telemetry.MetricsAddress);
        Assert.Equal("127.0.0.1:8888", config.Telemetry.MetricsAddress);
        Assert.Null(config.Admission.MaxInFlightBytes); // sized from the memory available, at start
    }

    [Fact]
    public void EnvironmentVariables_AreExpandedInValues()
    {
        _f.Env["CERTS"] = _f.Dir;
        _f.Env["GRPC_PORT"] = "14317";
        _f.Env["LIMIT"] = "256";
        var config = _f.Parse("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 0.0.0.0:${GRPC_PORT}
                    tls:
                      cert_file: ${env:CERTS}/server.crt
                      key_file: ${env:CERTS}/server.key
                      client_ca_file: ${env:CLIENT_CA:-ca.crt}
            processors:
              memory_limiter:
                check_interval: 1s
                limit_mib: ${env:LIMIT}
            exporters:
              otlphttp:
                endpoint: https://central.corp.example:4318
                headers:
                  authorization: &token "Bearer $${NOT_EXPANDED}"
                  x-copy: *token
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  processors: [memory_limiter]
                  exporters: [otlphttp]
            """);

        var grpc = config.Receivers[0].Grpc!;
        Assert.Equal("0.0.0.0:14317", grpc.Endpoint);
        Assert.Equal(_f.Path("server.crt"), grpc.Tls!.CertFile);
        Assert.Equal(_f.Path("ca.crt"), grpc.Tls.ClientCaFile);
        Assert.Equal(256, ((MemoryLimiterSettings)config.Processors["memory_limiter"]).LimitMib);
        var headers = ((OtlpExporterSettings)config.Exporters["otlphttp"]).Headers;
        Assert.Equal("Bearer ${NOT_EXPANDED}", headers["authorization"]);
        Assert.Equal("Bearer ${NOT_EXPANDED}", headers["x-copy"]);
    }

    /// <summary>The YAML block after the `example-config` marker in docs/configuration.md.</summary>
    private static string DocsExample([CallerFilePath] string thisFile = "")
    {
        var docs = Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", "..", "docs", "configuration.md");
        var text = File.ReadAllText(docs);
        int marker = text.IndexOf("<!-- example-config -->", StringComparison.Ordinal);
        int start = text.IndexOf("```yaml\n", marker, StringComparison.Ordinal) + "```yaml\n".Length;
        return text[start..text.IndexOf("```", start, StringComparison.Ordinal)];
    }
}
