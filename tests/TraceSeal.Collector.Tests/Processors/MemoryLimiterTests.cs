using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Processors;
using TraceSeal.Collector.Processors.MemoryLimiter;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.Processors;

/// <summary>
/// The limiter measures what a collection can give back and can never stay refusing once memory is free. Checks
/// are driven by hand on a <see cref="ManualTimeProvider"/> (its timer never fires): no sleeps, no scheduling.
/// </summary>
public sealed class MemoryLimiterTests
{
    private const long Mib = 1024 * 1024;

    private static readonly TimeSpan Check = TimeSpan.FromSeconds(1);

    private static readonly ReceivedBatch Batch = new()
    {
        Signal = OtlpSignal.Traces, Payload = ReadOnlyMemory<byte>.Empty, ItemCount = 1,
        Tenant = "default", Identity = "cn:test", Receiver = "otlp",
    };

    [Fact]
    public async Task accepts_again_within_two_check_intervals_after_a_real_spike_is_freed()
    {
        // The real heap and the real GC: the spike takes usage above the hard limit, as a burst of requests did in
        // issue 10. Before the fix, resident memory stayed above the limit after the burst and the limiter refused
        // for 42 minutes. The soft limit is 384 MiB above today's heap, far more than tests running in parallel hold.
        var time = new ManualTimeProvider();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
        long baseline = MemoryLimiterProcessor.CurrentUsageBytes();
        var limits = new MemoryLimits(baseline + (512 * Mib), 128 * Mib, Check, MemoryLimits.DefaultMinGcIntervalWhenSoftLimited, MemoryLimits.DefaultMinGcIntervalWhenHardLimited);
        await using var limiter = new MemoryLimiterProcessor("memory_limiter", limits, NullLogger.Instance, time);
        limiter.Check();
        Assert.False(limiter.IsRefusing);

        byte[][]? spike = AllocateSpike(640 * Mib);
        time.Advance(Check);
        limiter.Check();
        Assert.True(limiter.IsRefusing);
        Assert.False(limiter.Admit(Batch).Accepted);
        GC.KeepAlive(spike);

        spike = null;
        int checks = 0;
        while (limiter.IsRefusing && checks < 2)
        {
            time.Advance(Check);
            limiter.Check();
            checks++;
        }

        Assert.False(limiter.IsRefusing, $"still refusing after {checks} checks: managed heap in use {limiter.UsageBytes / Mib} MiB, soft limit {limiter.SoftLimitBytes / Mib} MiB");
        Assert.True(limiter.Admit(Batch).Accepted);
        Assert.True(limiter.UsageBytes < limiter.SoftLimitBytes);
    }

    [Fact]
    public async Task accepts_again_at_the_next_check_after_a_spike_between_the_soft_and_hard_limits_is_freed()
    {
        // Above the soft limit only: collections are rate limited (10 s by default), but a cheap one may repeat at
        // the next check, so freed memory is seen there, not 10 s later.
        var heap = new ModelHeap { Live = 100 * Mib, Pause = TimeSpan.FromMilliseconds(2) };
        var time = new ManualTimeProvider();
        await using var limiter = Limiter(heap, time, limitMib: 1000, spikeMib: 200);
        limiter.Check();
        Assert.False(limiter.IsRefusing);

        heap.Allocate(750 * Mib);
        time.Advance(Check);
        limiter.Check();
        Assert.True(limiter.IsRefusing);
        Assert.Equal(1, heap.Collections);

        heap.Free(750 * Mib);
        time.Advance(Check);
        limiter.Check();

        Assert.False(limiter.IsRefusing);
        Assert.Equal(2, heap.Collections);
        Assert.False(heap.LastAggressive);
        Assert.Equal(100 * Mib, limiter.UsageBytes);
    }

    [Fact]
    public async Task expensive_collections_above_the_soft_limit_wait_for_min_gc_interval_when_soft_limited()
    {
        // A 500 ms pause is not cheap after 1 s (it would be half the time), so the configured interval applies:
        // the freed spike is seen at the first check 10 s after the previous collection, not before.
        var heap = new ModelHeap { Live = 100 * Mib, Pause = TimeSpan.FromMilliseconds(500) };
        var time = new ManualTimeProvider();
        await using var limiter = Limiter(heap, time, limitMib: 1000, spikeMib: 200);
        heap.Allocate(750 * Mib);
        limiter.Check();
        Assert.True(limiter.IsRefusing);
        heap.Free(750 * Mib);

        for (int second = 1; second < 10; second++)
        {
            time.Advance(Check);
            limiter.Check();
            Assert.True(limiter.IsRefusing, $"accepting after {second} s without a collection");
        }

        time.Advance(Check);
        limiter.Check();

        Assert.False(limiter.IsRefusing);
        Assert.Equal(2, heap.Collections);
    }

    [Fact]
    public async Task above_the_hard_limit_an_aggressive_collection_runs_at_every_check()
    {
        var heap = new ModelHeap { Live = 100 * Mib, Pause = TimeSpan.FromSeconds(2) };
        var time = new ManualTimeProvider();
        await using var limiter = Limiter(heap, time, limitMib: 1000, spikeMib: 200);
        heap.Allocate(1200 * Mib);
        limiter.Check();
        time.Advance(Check);
        limiter.Check();
        Assert.True(limiter.IsRefusing);
        Assert.Equal(2, heap.Collections);
        Assert.True(heap.LastAggressive);

        heap.Free(1200 * Mib);
        time.Advance(Check);
        limiter.Check();

        Assert.False(limiter.IsRefusing);
        Assert.Equal(3, heap.Collections);
    }

    [Fact]
    public async Task garbage_above_the_soft_limit_is_collected_instead_of_refused()
    {
        // Dead objects count until a collection; the limiter collects before it decides, as upstream does.
        var heap = new ModelHeap { Live = 100 * Mib, Dead = 800 * Mib };
        await using var limiter = Limiter(heap, new ManualTimeProvider(), limitMib: 1000, spikeMib: 200);

        limiter.Check();

        Assert.False(limiter.IsRefusing);
        Assert.Equal(1, heap.Collections);
        Assert.Equal(1, limiter.ForcedCollections);
    }

    [Fact]
    public async Task below_the_soft_limit_nothing_is_collected()
    {
        var heap = new ModelHeap { Live = 700 * Mib };
        var time = new ManualTimeProvider();
        await using var limiter = Limiter(heap, time, limitMib: 1000, spikeMib: 200);

        for (int i = 0; i < 5; i++)
        {
            limiter.Check();
            time.Advance(Check);
        }

        Assert.Equal(0, heap.Collections);
        Assert.True(limiter.Admit(Batch).Accepted);
    }

    [Fact]
    public async Task refuses_with_a_retry_hint_while_the_heap_in_use_stays_above_the_soft_limit()
    {
        var heap = new ModelHeap { Live = 900 * Mib };
        await using var limiter = Limiter(heap, new ManualTimeProvider(), limitMib: 1000, spikeMib: 200, checkInterval: TimeSpan.FromSeconds(5));
        limiter.Check();

        var result = limiter.Admit(Batch);

        Assert.False(result.Accepted);
        Assert.True(result.Retryable);
        Assert.Equal(TimeSpan.FromSeconds(5), result.RetryAfter);
        Assert.Equal("memory limit reached", result.Reason);
        Assert.Equal(1, limiter.RefusedBatches);
        Assert.Equal(800 * Mib, limiter.SoftLimitBytes);
    }

    [Fact]
    public async Task retry_hint_is_at_least_one_second_so_clients_do_not_spin()
    {
        var heap = new ModelHeap { Live = 900 * Mib };
        await using var limiter = Limiter(heap, new ManualTimeProvider(), limitMib: 1000, spikeMib: 200, checkInterval: TimeSpan.FromMilliseconds(50));
        limiter.Check();

        Assert.Equal(TimeSpan.FromSeconds(1), limiter.Admit(Batch).RetryAfter);
    }

    [Fact]
    public async Task a_spike_of_zero_means_twenty_percent_of_the_limit_as_upstream()
    {
        await using var limiter = Limiter(new ModelHeap(), new ManualTimeProvider(), limitMib: 1000, spikeMib: 0);

        Assert.Equal(800 * Mib, limiter.SoftLimitBytes);
    }

    private static MemoryLimiterProcessor Limiter(ModelHeap heap, ManualTimeProvider time, long limitMib, long spikeMib, TimeSpan? checkInterval = null) =>
        new(
            "memory_limiter",
            new MemoryLimits(limitMib * Mib, spikeMib * Mib, checkInterval ?? Check, MemoryLimits.DefaultMinGcIntervalWhenSoftLimited, MemoryLimits.DefaultMinGcIntervalWhenHardLimited),
            NullLogger.Instance,
            time,
            () => heap.Live + heap.Dead,
            heap.Collect);

    private static byte[][] AllocateSpike(long bytes)
    {
        const int Chunk = 64 * 1024 * 1024;
        var chunks = new byte[bytes / Chunk][];
        for (int i = 0; i < chunks.Length; i++)
        {
            chunks[i] = new byte[Chunk];
        }

        return chunks;
    }

    /// <summary>A heap as the limiter sees it: freed bytes stay counted (dead) until a collection.</summary>
    private sealed class ModelHeap
    {
        public long Live { get; set; }

        public long Dead { get; set; }

        public TimeSpan Pause { get; init; }

        public int Collections { get; private set; }

        public bool LastAggressive { get; private set; }

        public void Allocate(long bytes) => Live += bytes;

        public void Free(long bytes)
        {
            Live -= bytes;
            Dead += bytes;
        }

        public TimeSpan Collect(bool aggressive)
        {
            Collections++;
            LastAggressive = aggressive;
            Dead = 0;
            return Pause;
        }
    }
}
