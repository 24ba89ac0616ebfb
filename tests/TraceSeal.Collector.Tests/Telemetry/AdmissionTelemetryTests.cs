using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Processors;
using TraceSeal.Collector.Processors.MemoryLimiter;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Telemetry;
using TraceSeal.Collector.Tests.TestSupport;

namespace TraceSeal.Collector.Tests.Telemetry;

/// <summary>The memory limiter's state and the admission budget's refusals in /metrics, and /readyz 503 while either refuses.</summary>
public sealed class AdmissionTelemetryTests : IDisposable
{
    private const long Mib = 1024 * 1024;

    private readonly HttpClient _http = new();

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task a_refusing_memory_limiter_shows_in_metrics_and_makes_readyz_503_until_memory_is_free()
    {
        long heap = 900 * Mib;
        var time = new ManualTimeProvider();
        await using var limiter = new MemoryLimiterProcessor(
            "memory_limiter",
            new MemoryLimits(1000 * Mib, 200 * Mib, TimeSpan.FromSeconds(1), MemoryLimits.DefaultMinGcIntervalWhenSoftLimited, MemoryLimits.DefaultMinGcIntervalWhenHardLimited),
            NullLogger.Instance,
            time,
            () => heap,
            _ => TimeSpan.Zero);
        limiter.Check();
        limiter.Admit(default);
        await using TelemetryServer server = await StartAsync(new CollectorMetrics([], new Dictionary<string, IExporter>(), time, [limiter], new AdmissionBudget(64 * Mib, time)));

        string metrics = await _http.GetStringAsync(Uri(server, "/metrics"));
        using HttpResponseMessage notReady = await _http.GetAsync(Uri(server, "/readyz"));

        Assert.Contains("# TYPE traceseal_memory_limiter_refusing gauge\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_memory_limiter_refusing{processor=\"memory_limiter\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains($"traceseal_memory_limiter_usage_bytes{{processor=\"memory_limiter\"}} {900 * Mib}\n", metrics, StringComparison.Ordinal);
        Assert.Contains($"traceseal_memory_limiter_limit_bytes{{processor=\"memory_limiter\",limit=\"soft\"}} {800 * Mib}\n", metrics, StringComparison.Ordinal);
        Assert.Contains($"traceseal_memory_limiter_limit_bytes{{processor=\"memory_limiter\",limit=\"hard\"}} {1000 * Mib}\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_memory_limiter_refused_total{processor=\"memory_limiter\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_memory_limiter_forced_gc_total{processor=\"memory_limiter\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Equal("processor memory_limiter is refusing data: managed heap in use 900 MiB is above its soft limit of 800 MiB\n", await notReady.Content.ReadAsStringAsync());

        heap = 300 * Mib;
        time.Advance(TimeSpan.FromSeconds(1));
        limiter.Check();

        using HttpResponseMessage ready = await _http.GetAsync(Uri(server, "/readyz"));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready\n", await ready.Content.ReadAsStringAsync());
        Assert.Contains("traceseal_memory_limiter_refusing{processor=\"memory_limiter\"} 0\n", await _http.GetStringAsync(Uri(server, "/metrics")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task admission_refusals_show_in_metrics_and_make_readyz_503_for_five_seconds()
    {
        var time = new ManualTimeProvider();
        var budget = new AdmissionBudget(64 * Mib, time);
        Assert.True(budget.TryReserve(60 * Mib));
        Assert.False(budget.TryReserve(8 * Mib));
        await using TelemetryServer server = await StartAsync(new CollectorMetrics([], new Dictionary<string, IExporter>(), time, [], budget));

        string metrics = await _http.GetStringAsync(Uri(server, "/metrics"));
        using HttpResponseMessage notReady = await _http.GetAsync(Uri(server, "/readyz"));

        Assert.Contains("# TYPE traceseal_admission_inflight_bytes gauge\n", metrics, StringComparison.Ordinal);
        Assert.Contains($"traceseal_admission_inflight_bytes {60 * Mib}\n", metrics, StringComparison.Ordinal);
        Assert.Contains($"traceseal_admission_capacity_bytes {64 * Mib}\n", metrics, StringComparison.Ordinal);
        Assert.Contains("# TYPE traceseal_admission_refused_total counter\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_admission_refused_total 1\n", metrics, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Equal("admission is refusing requests: the in-flight byte budget of 64 MiB was full within the last 5 s (60 MiB in flight now)\n", await notReady.Content.ReadAsStringAsync());

        budget.Release(60 * Mib);
        time.Advance(AdmissionBudget.ReadinessWindow);

        using HttpResponseMessage ready = await _http.GetAsync(Uri(server, "/readyz"));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("traceseal_admission_inflight_bytes 0\n", await _http.GetStringAsync(Uri(server, "/metrics")), StringComparison.Ordinal);
    }

    private static Uri Uri(TelemetryServer server, string path) => new($"http://127.0.0.1:{server.BoundEndpoint!.Port}{path}");

    private static async Task<TelemetryServer> StartAsync(CollectorMetrics metrics)
    {
        var server = new TelemetryServer(new TelemetrySettings { MetricsAddress = "127.0.0.1:0" }, metrics, NullLoggerFactory.Instance);
        await server.StartAsync(CancellationToken.None);
        return server;
    }
}
