using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Hosting;
using TraceSeal.Collector.Telemetry;
using TraceSeal.Collector.Tests.TestSupport;

namespace TraceSeal.Collector.Tests.Telemetry;

/// <summary>Upstream's self-metric names next to TraceSeal's, counted per signal, and the write latency histogram.</summary>
public sealed class UpstreamMetricNamesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-upstream-metrics-").FullName;
    private readonly HttpClient _http = new();

    public void Dispose()
    {
        _http.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Accepted_and_sent_items_show_under_otelcol_names_per_signal_receiver_transport_and_exporter()
    {
        var config = CollectorConfigLoader.Parse("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 127.0.0.1:0
                    allow_plaintext: true
                  http:
                    endpoint: 127.0.0.1:0
                    allow_plaintext: true
            exporters:
              discard:
              nop:
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [discard, nop]
                logs:
                  receivers: [otlp]
                  exporters: [nop]
            """, Path.Combine(_dir, "collector.yaml"));
        await using var host = CollectorHost.Create(config, NullLoggerFactory.Instance);
        await host.StartAsync(CancellationToken.None);
        string url = $"http://127.0.0.1:{host.Receivers[0].HttpEndpoint!.Port}";

        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync(url + "/v1/traces", Protobuf(OtlpTestData.Traces(7)))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsync(url + "/v1/logs", Protobuf(OtlpTestData.Logs(3)))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.PostAsync(url + "/v1/metrics", Protobuf(OtlpTestData.Metrics(4)))).StatusCode);

        string metrics = new CollectorMetrics([new ReceiverView(config.Receivers[0], host.Receivers[0])], host.Exporters, TimeProvider.System).Render();

        Assert.Contains("# TYPE otelcol_receiver_accepted_spans counter\n", metrics, StringComparison.Ordinal);
        Assert.Contains("otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"http\"} 7\n", metrics, StringComparison.Ordinal);
        Assert.Contains("otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"grpc\"} 0\n", metrics, StringComparison.Ordinal); // per protocol, as upstream
        Assert.Contains("otelcol_receiver_accepted_log_records{receiver=\"otlp\",transport=\"http\"} 3\n", metrics, StringComparison.Ordinal);
        Assert.Contains("otelcol_receiver_refused_metric_points{receiver=\"otlp\",transport=\"http\"} 4\n", metrics, StringComparison.Ordinal);
        Assert.Contains("otelcol_exporter_sent_spans{exporter=\"discard\"} 7\n", metrics, StringComparison.Ordinal);
        Assert.Contains("otelcol_exporter_sent_spans{exporter=\"nop\"} 7\n", metrics, StringComparison.Ordinal);
        Assert.Contains("otelcol_exporter_sent_log_records{exporter=\"nop\"} 3\n", metrics, StringComparison.Ordinal);
        Assert.Contains("otelcol_exporter_send_failed_spans{exporter=\"discard\"} 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_receiver_items_accepted_total{receiver=\"otlp\",protocol=\"all\"} 10\n", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public void The_latency_histogram_is_cumulative_with_sum_and_count()
    {
        var histogram = new LatencyHistogram();
        histogram.Observe(TimeSpan.FromMilliseconds(0.3));
        histogram.Observe(TimeSpan.FromMilliseconds(3));
        histogram.Observe(TimeSpan.FromSeconds(20));
        var text = new PrometheusText();

        histogram.Write(text, "traceseal_wal_write_duration_seconds", "exporter", "sealed_store");

        string rendered = text.ToString();
        Assert.Contains("traceseal_wal_write_duration_seconds_bucket{exporter=\"sealed_store\",le=\"0.0005\"} 1\n", rendered, StringComparison.Ordinal);
        Assert.Contains("traceseal_wal_write_duration_seconds_bucket{exporter=\"sealed_store\",le=\"0.0025\"} 1\n", rendered, StringComparison.Ordinal);
        Assert.Contains("traceseal_wal_write_duration_seconds_bucket{exporter=\"sealed_store\",le=\"0.005\"} 2\n", rendered, StringComparison.Ordinal);
        Assert.Contains("traceseal_wal_write_duration_seconds_bucket{exporter=\"sealed_store\",le=\"10\"} 2\n", rendered, StringComparison.Ordinal);
        Assert.Contains("traceseal_wal_write_duration_seconds_bucket{exporter=\"sealed_store\",le=\"+Inf\"} 3\n", rendered, StringComparison.Ordinal);
        Assert.Contains("traceseal_wal_write_duration_seconds_sum{exporter=\"sealed_store\"} 20.0033\n", rendered, StringComparison.Ordinal);
        Assert.Contains("traceseal_wal_write_duration_seconds_count{exporter=\"sealed_store\"} 3\n", rendered, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_metric_the_grafana_dashboard_queries_is_one_the_collector_renders()
    {
        string path = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(ThisFile())!, "../../../deploy/grafana/traceseal.json"));
        using var dashboard = JsonDocument.Parse(File.ReadAllText(path));
        var queried = new SortedSet<string>(StringComparer.Ordinal);
        foreach (JsonElement panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
        {
            foreach (JsonElement target in panel.TryGetProperty("targets", out var t) ? t.EnumerateArray() : default)
            {
                foreach (Match m in Regex.Matches(target.GetProperty("expr").GetString()!, "(otelcol|traceseal)_[a-z_]+"))
                {
                    queried.Add(Regex.Replace(m.Value, "_bucket$", ""));
                }
            }
        }

        string rendered = new CollectorMetrics([], new Dictionary<string, TraceSeal.Collector.Exporters.IExporter>(), TimeProvider.System, [], new TraceSeal.Collector.Receivers.AdmissionBudget(1024 * 1024)).Render();
        Assert.True(queried.Count >= 15, string.Join(", ", queried));
        Assert.All(queried, name => Assert.Contains($"# TYPE {name} ", rendered, StringComparison.Ordinal));
        Assert.Contains("otelcol_receiver_accepted_spans", queried);
        Assert.Contains("traceseal_wal_write_duration_seconds", queried);
    }

    private static string ThisFile([CallerFilePath] string path = "") => path;

    private static ByteArrayContent Protobuf(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return content;
    }
}
