using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Processors;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.Processors;

public sealed class MemoryLimiterTests
{
    private static readonly ReceivedBatch Batch = new()
    {
        Signal = OtlpSignal.Traces, Payload = ReadOnlyMemory<byte>.Empty, ItemCount = 1,
        Tenant = "default", Identity = "cn:test", Receiver = "otlp",
    };

    [Fact]
    public async Task Refuses_with_a_retry_hint_when_resident_memory_is_above_the_limit()
    {
        // A 1 MiB limit is below any .NET process's resident set, so the first check must trip it.
        await using var limiter = new MemoryLimiter("memory_limiter", TimeSpan.FromHours(1), 1024 * 1024, 0, NullLogger.Instance);
        limiter.Check();

        var result = limiter.Admit(Batch);

        Assert.False(result.Accepted);
        Assert.True(result.Retryable);
        Assert.Equal(TimeSpan.FromHours(1), result.RetryAfter);
        Assert.Equal("memory limit reached", result.Reason);
    }

    [Fact]
    public async Task Admits_when_usage_is_below_the_soft_limit()
    {
        long generous = MemoryLimiter.CurrentUsageBytes() * 4 + (512L << 20);
        await using var limiter = new MemoryLimiter("memory_limiter", TimeSpan.FromMilliseconds(100), generous, 0, NullLogger.Instance);
        limiter.Check();

        Assert.True(limiter.Admit(Batch).Accepted);
        Assert.False(limiter.IsRefusing);
    }

    [Fact]
    public async Task Retry_hint_is_at_least_one_second_so_clients_do_not_spin()
    {
        await using var limiter = new MemoryLimiter("m", TimeSpan.FromMilliseconds(50), 1024 * 1024, 0, NullLogger.Instance);
        limiter.Check();

        Assert.Equal(TimeSpan.FromSeconds(1), limiter.Admit(Batch).RetryAfter);
    }
}
