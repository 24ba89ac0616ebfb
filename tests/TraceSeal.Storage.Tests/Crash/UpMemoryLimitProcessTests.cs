using System.Globalization;
using TraceSeal.Cli.Commands;

namespace TraceSeal.Storage.Tests.Crash;

/// <summary>
/// Issue 10, Build 9: `traceseal up` sizes its memory limits from the memory the process can use, not a fixed 512 MiB.
/// Proven on the real process: up's own config, started with its managed heap capped (DOTNET_GCHeapHardLimit, as a
/// container limit would), reports a hard limit of 80 % of that cap in /metrics, not 512 MiB and not 80 % of what
/// this (uncapped) test process may use.
/// </summary>
public sealed class UpMemoryLimitProcessTests : IDisposable
{
    private const long Mib = 1024 * 1024;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "traceseal-up-mem-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task ups_hard_limit_is_80_percent_of_the_heap_the_process_may_use()
    {
        const long cap = 256 * Mib;
        int metricsPort = Kill9Tests.FreePort();
        string config = UpCommand.Prepare(_dir, UpPorts.Defaults with { Grpc = Kill9Tests.FreePort(), Http = Kill9Tests.FreePort(), Metrics = metricsPort });

        await using var collector = CollectorProcess.Start(config, new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x" + cap.ToString("X", CultureInfo.InvariantCulture) });
        await collector.WaitReadyAsync(TimeSpan.FromSeconds(90));
        string metrics = await MetricsAsync(metricsPort, collector);
        string line = metrics.Split('\n').Single(l => l.StartsWith("traceseal_memory_limiter_limit_bytes{", StringComparison.Ordinal) && l.Contains("limit=\"hard\"", StringComparison.Ordinal));
        long hard = long.Parse(line.Split(' ')[^1], CultureInfo.InvariantCulture);

        Assert.Equal(cap / 100 * 80, hard);
        Assert.NotEqual(512 * Mib, hard);
        Assert.NotEqual(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 100 * 80, hard);
        Assert.Contains(await collector.TerminateAsync(TimeSpan.FromSeconds(60)), new[] { 0, 143 });
    }

    /// <summary>/metrics once the self-telemetry server answers: it may start after the receiver logged its port.</summary>
    private static async Task<string> MetricsAsync(int port, CollectorProcess collector)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                return await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                // Not listening yet; the connection attempt itself is the wait condition.
                await Task.Delay(100);
            }
            catch (HttpRequestException e)
            {
                throw new TimeoutException($"/metrics on 127.0.0.1:{port} did not answer within 60 s:\n{collector.Log()}", e);
            }
        }
    }
}
