using System.IO.Compression;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Exporters.Discard;
using TraceSeal.Collector.Hosting;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Collector.Tests.Hosting;

/// <summary>The collector from YAML: one admission budget for every receiver, and `traceseal up`'s memory limits under bursts.</summary>
public sealed class AdmissionHostTests : IDisposable
{
    private const long Mib = 1024 * 1024;

    private readonly MtlsHostEnvironment _env = new();

    public void Dispose() => _env.Dispose();

    [Fact]
    public async Task every_receiver_shares_the_one_admission_budget_and_metrics_report_it()
    {
        var config = CollectorConfigLoader.Parse(Yaml("""
              memory_limiter:
                check_interval: 1s
                limit_mib: 4096
            """, $$"""
              telemetry:
                metrics:
                  address: 127.0.0.1:{{FreePort()}}
              admission:
                max_in_flight_bytes: 256MiB
            """), _env.ConfigPath);
        await using var host = CollectorHost.Create(config, NullLoggerFactory.Instance, selfTelemetry: true);
        await host.StartAsync(CancellationToken.None);
        using var http = new HttpClient();

        string metrics = await http.GetStringAsync($"http://127.0.0.1:{host.Telemetry!.BoundEndpoint!.Port}/metrics");

        Assert.Equal(256 * Mib, host.Admission.CapacityBytes);
        Assert.All(host.Receivers, r => Assert.Same(host.Admission, r.Admission));
        Assert.Equal(2, host.Receivers.Count);
        Assert.Contains($"traceseal_admission_capacity_bytes {256 * Mib}\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_admission_inflight_bytes 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_memory_limiter_refusing{processor=\"memory_limiter\"} 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains($"traceseal_memory_limiter_limit_bytes{{processor=\"memory_limiter\",limit=\"hard\"}} {4096 * Mib}\n", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ups_memory_limits_take_three_concurrent_gzip_bodies_of_20_mb_and_then_ordinary_load()
    {
        // The limits `traceseal up` writes (percentages of the memory the process may use) and the default admission
        // budget. Issue 10: with the fixed 512 MiB this burst latched the limiter and every later request got 503.
        var config = CollectorConfigLoader.Parse(Yaml("""
              memory_limiter:
                check_interval: 100ms
                limit_percentage: 80
                spike_limit_percentage: 20
            """), _env.ConfigPath);
        await using var host = CollectorHost.Create(config, NullLoggerFactory.Instance);
        await host.StartAsync(CancellationToken.None);
        using var client = _env.Client();
        string traces = $"https://localhost:{host.Receivers[0].HttpEndpoint!.Port}/v1/traces";
        byte[] gzip = OtlpTestData.Gzip(OtlpTestData.TracesOfSize(20_000_000), CompressionLevel.SmallestSize);

        HttpResponseMessage[] bursts = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => client.PostAsync(traces, Gzipped(gzip))));
        var ordinary = new List<HttpStatusCode>();
        for (int i = 0; i < 50; i++)
        {
            using HttpResponseMessage response = await client.PostAsync(traces, MtlsHostEnvironment.Protobuf(OtlpTestData.Traces(100)));
            ordinary.Add(response.StatusCode);
        }

        Assert.All(bursts, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.All(ordinary, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal((3 * 20) + (50 * 100), ((DiscardExporter)host.Exporters["discard"]).Items(OtlpSignal.Traces));
        Assert.False(Assert.Single(host.MemoryLimiters).IsRefusing);
        Assert.Equal(0, host.Admission.Refused);
        Assert.Equal(0, host.Admission.InFlightBytes);
        foreach (HttpResponseMessage response in bursts)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task a_wal_backlog_refusal_shows_in_metrics_and_makes_readyz_503_until_blocks_are_cut()
    {
        // Issue 10: "limiter and backlog refusal show in /metrics and make /readyz 503". Blocks are cut only when
        // the test says so (max_age 1h), so the backlog fills after a few requests.
        Sealing.KeyFiles.Init(Path.Combine(_env.Dir, "keys"), "ops");
        var config = CollectorConfigLoader.Parse($$"""
            receivers:
              otlp:
                protocols:
                  http:
                    endpoint: 127.0.0.1:0
                    tls: { cert_file: server.crt, key_file: server.key, client_ca_file: ca.crt }
            exporters:
              sealed_store:
                directory: store
                recipients: [keys/ops.recipient.pem]
                block: { max_age: 1h }
                wal: { max_backlog_bytes: 16KiB }
            service:
              telemetry: { metrics: { address: "127.0.0.1:{{FreePort()}}" } }
              pipelines:
                traces: { receivers: [otlp], exporters: [sealed_store] }
            """, _env.ConfigPath);
        await using var host = CollectorHost.Create(config, NullLoggerFactory.Instance, selfTelemetry: true);
        await host.StartAsync(CancellationToken.None);
        using var client = _env.Client();
        using var http = new HttpClient();
        string traces = $"https://localhost:{host.Receivers[0].HttpEndpoint!.Port}/v1/traces";
        string telemetry = $"http://127.0.0.1:{host.Telemetry!.BoundEndpoint!.Port}";
        using (HttpResponseMessage ready = await http.GetAsync(telemetry + "/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        int accepted = 0;
        HttpResponseMessage? refused = null;
        for (int i = 0; i < 200 && refused is null; i++)
        {
            HttpResponseMessage response = await client.PostAsync(traces, MtlsHostEnvironment.Protobuf(OtlpTestData.Traces(20)));
            if (response.StatusCode == HttpStatusCode.OK)
            {
                accepted++;
                response.Dispose();
            }
            else
            {
                refused = response;
            }
        }

        Assert.NotNull(refused);
        using (refused)
        {
            Assert.True(accepted > 0);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        }

        string metrics = await http.GetStringAsync(telemetry + "/metrics");
        using (HttpResponseMessage notReady = await http.GetAsync(telemetry + "/readyz"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
            Assert.Equal("exporter sealed_store is refusing data: the sealed WAL backlog reached wal::max_backlog_bytes (blocks not cut or not uploaded yet)\n", await notReady.Content.ReadAsStringAsync());
        }

        Assert.Contains("reason=\"sink_refused\"} 1\n", metrics, StringComparison.Ordinal);
        long backlog = long.Parse(metrics.Split('\n').Single(l => l.StartsWith("traceseal_wal_backlog_bytes{exporter=\"sealed_store\"", StringComparison.Ordinal)).Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(backlog, 1, 16 * 1024);

        // Blocks are cut: the backlog is gone, requests are acknowledged again and readiness returns by itself.
        await ((TraceSeal.Collector.Storage.SealedStoreExporter)host.Exporters["sealed_store"]).CutBlocksAsync();
        using (HttpResponseMessage again = await client.PostAsync(traces, MtlsHostEnvironment.Protobuf(OtlpTestData.Traces(20))))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        await Eventually.TrueAsync(
            () =>
            {
                using HttpResponseMessage response = http.GetAsync(telemetry + "/readyz").GetAwaiter().GetResult();
                return response.StatusCode == HttpStatusCode.OK;
            },
            "/readyz 200 once nothing was refused for its window",
            TimeSpan.FromSeconds(30));
    }

    private static int FreePort()
    {
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static ByteArrayContent Gzipped(byte[] gzip)
    {
        ByteArrayContent content = MtlsHostEnvironment.Protobuf(gzip);
        content.Headers.ContentEncoding.Add("gzip");
        return content;
    }

    /// <summary>Two mTLS http receivers on 127.0.0.1:0, the given processors (first in the pipeline), discard, and extra service keys.</summary>
    private static string Yaml(string processors, string service = "") => $$"""
        receivers:
          otlp:
            protocols:
              http:
                endpoint: 127.0.0.1:0
                max_decompression_ratio: 100000  # the 20 MB bodies are 'x' filler (~1000x); admission is under test, not the ratio
                tls:
                  cert_file: server.crt
                  key_file: server.key
                  client_ca_file: ca.crt
          otlp/second:
            protocols:
              http:
                endpoint: 127.0.0.1:0
                tls:
                  cert_file: server.crt
                  key_file: server.key
                  client_ca_file: ca.crt
        processors:
        {{processors}}
        exporters:
          discard: {}
        service:
        {{service}}
          pipelines:
            traces:
              receivers: [otlp, otlp/second]
              processors: [memory_limiter]
              exporters: [discard]
        """;
}
