using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Pipeline;

namespace TraceSeal.Collector.Processors.MemoryLimiter;

/// <summary>Limits of one `memory_limiter`, in bytes, with upstream's GC rate limits.</summary>
/// <param name="LimitBytes">Hard limit: above it a collection is forced at once (aggressive: compacts and decommits).</param>
/// <param name="SpikeBytes">Soft limit = limit − spike; above the soft limit data is refused. 0 = 20% of the limit, as upstream.</param>
/// <param name="CheckInterval">How often usage is measured.</param>
/// <param name="MinGcIntervalWhenSoftLimited">Upstream's `min_gc_interval_when_soft_limited` (default 10 s); see <see cref="MemoryLimiterProcessor"/>.</param>
/// <param name="MinGcIntervalWhenHardLimited">Upstream's `min_gc_interval_when_hard_limited` (default 0: every check).</param>
internal readonly record struct MemoryLimits(
    long LimitBytes,
    long SpikeBytes,
    TimeSpan CheckInterval,
    TimeSpan MinGcIntervalWhenSoftLimited,
    TimeSpan MinGcIntervalWhenHardLimited)
{
    /// <summary>Upstream's default: a forced full collection is CPU-heavy, and a collector that is refusing needs its CPU to drain.</summary>
    public static readonly TimeSpan DefaultMinGcIntervalWhenSoftLimited = TimeSpan.FromSeconds(10);

    /// <summary>Upstream's default: above the hard limit the process is close to being killed, so memory comes first.</summary>
    public static readonly TimeSpan DefaultMinGcIntervalWhenHardLimited = TimeSpan.Zero;
}

/// <summary>
/// `memory_limiter`: every check interval, measures the managed heap in use and refuses new data while it is
/// above the soft limit (limit minus spike). Unlike upstream, whose refusal carries no retry hint, the refusal
/// becomes gRPC UNAVAILABLE with RetryInfo / HTTP 503 with Retry-After, so well-behaved clients back off
/// instead of dropping data.
/// </summary>
/// <remarks>
/// <para><b>What is measured.</b> <see cref="GC.GetTotalMemory(bool)"/> with <c>false</c>: the bytes of managed
/// objects allocated now (live, plus dead ones not yet collected), without free space. It is the equivalent of Go's
/// <c>MemStats.Alloc</c>, which upstream measures. It is what this process can give back: it goes down as soon as
/// a collection frees objects. The alternatives do not:
/// <list type="bullet">
/// <item>resident memory (<see cref="Environment.WorkingSet"/>, what this class used to read) stays high after
/// a burst, because the GC keeps freed segments committed for reuse: the limiter then refused for 42 minutes with
/// 156 MB live out of 450 MB resident (issue 10);</item>
/// <item><see cref="GCMemoryInfo.HeapSizeBytes"/> is a snapshot taken at the last collection, so between
/// collections it misses a spike that is being allocated, and after the spike is freed it stays high until the
/// next collection; it also counts fragmentation the allocator reuses.</item>
/// </list>
/// Pooled buffers (<c>ArrayPool&lt;byte&gt;.Shared</c> behind request buffers up to 1 MiB, Kestrel's pinned block
/// pool) are managed arrays, so they are already in this figure: adding a counter of pooled bytes on top would count
/// them twice. Larger request buffers are not pooled, so a burst of large requests leaves garbage a collection
/// reclaims rather than pooled arrays it cannot (<c>Receivers/PooledBufferWriter.cs</c>). The in-flight request
/// bytes are bounded separately, before any of them is read, by the admission
/// budget (<c>Receivers/AdmissionBudget.cs</c>). Nothing in the collector allocates native memory.</para>
/// <para><b>Collections.</b> Above the hard limit a blocking, compacting, decommitting collection is forced at
/// most once per <see cref="MemoryLimits.MinGcIntervalWhenHardLimited"/> (default 0: every check). Above the soft
/// limit a blocking full collection is forced at most once per <see cref="MemoryLimits.MinGcIntervalWhenSoftLimited"/>
/// (default 10 s, as upstream, because a full collection of a large live heap is CPU-heavy) — unless the previous
/// forced collection was cheap: one that paused the process for at most 1/<see cref="CheapCollectionRatio"/> of
/// the time since may run again at the next check. The refusal is decided on the usage measured after any collection.</para>
/// <para><b>It never latches.</b> Garbage counts as usage only until a collection, and while the limiter refuses
/// it forces one at every check that the rate limit allows. So once memory is released the limiter accepts again
/// at the next check whose collection is allowed: the next check above the hard limit; above the soft limit the
/// next check too when collections are cheap (a heap of buffers: the usual case here), and within
/// <see cref="MemoryLimits.MinGcIntervalWhenSoftLimited"/> plus one check otherwise.</para>
/// </remarks>
internal sealed class MemoryLimiterProcessor : IProcessor
{
    /// <summary>A forced collection whose pause was at most 1/100 of the time since the previous one (1% of one thread) is cheap enough to repeat.</summary>
    internal const int CheapCollectionRatio = 100;

    private readonly MemoryLimits _limits;
    private readonly long _softLimitBytes;
    private readonly TimeSpan _retryAfter;
    private readonly TimeProvider _time;
    private readonly Func<long> _measure;
    private readonly Func<bool, TimeSpan> _collect;
    private readonly ILogger _logger;
    private readonly Lock _checkGate = new();
    private readonly ITimer _timer;
    private volatile bool _refusing;
    private long _usageBytes;
    private long _forcedCollections;
    private long _refusedBatches;

    // Written only under _checkGate.
    private long _lastCollectionTimestamp;
    private bool _collectedBefore;
    private TimeSpan _lastPause;

    public MemoryLimiterProcessor(string id, MemoryLimits limits, ILogger logger, TimeProvider? time = null)
        : this(id, limits, logger, time ?? TimeProvider.System, CurrentUsageBytes, Collect)
    {
    }

    /// <summary>For tests: <paramref name="measure"/> replaces the heap reading, <paramref name="collect"/> (argument: aggressive) the forced collection and returns its pause.</summary>
    internal MemoryLimiterProcessor(string id, MemoryLimits limits, ILogger logger, TimeProvider time, Func<long> measure, Func<bool, TimeSpan> collect)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(limits.LimitBytes, 0);
        ArgumentOutOfRangeException.ThrowIfNegative(limits.SpikeBytes);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(limits.CheckInterval, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(logger);
        Id = id;
        _limits = limits;

        // Upstream's default spike is 20% of the limit; a spike at or above the limit would refuse everything.
        long spike = limits.SpikeBytes == 0 ? limits.LimitBytes / 5 : limits.SpikeBytes;
        _softLimitBytes = limits.LimitBytes - Math.Min(spike, limits.LimitBytes - 1);

        // Clients should come back after a few checks, not hammer us every millisecond.
        _retryAfter = limits.CheckInterval < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : limits.CheckInterval;
        _time = time;
        _measure = measure;
        _collect = collect;
        _logger = logger;
        ProcessorLog.MemoryLimiterLimits(logger, id, limits.LimitBytes / (1024 * 1024), _softLimitBytes / (1024 * 1024), limits.CheckInterval);
        _timer = time.CreateTimer(static state => ((MemoryLimiterProcessor)state!).Check(), this, TimeSpan.Zero, limits.CheckInterval);
    }

    public string Id { get; }

    public bool IsRefusing => _refusing;

    public long HardLimitBytes => _limits.LimitBytes;

    public long SoftLimitBytes => _softLimitBytes;

    /// <summary>Managed heap in use at the last check (after its forced collection, if any).</summary>
    public long UsageBytes => Interlocked.Read(ref _usageBytes);

    public long ForcedCollections => Interlocked.Read(ref _forcedCollections);

    public long RefusedBatches => Interlocked.Read(ref _refusedBatches);

    /// <summary>The figure the limits are compared with: managed heap in use (see the remarks on the class).</summary>
    public static long CurrentUsageBytes() => GC.GetTotalMemory(forceFullCollection: false);

    /// <summary>Turns `limit_percentage` into bytes of the memory available to this process (cgroup aware; the GC heap hard limit when one is set).</summary>
    public static long PercentOfAvailable(int percent) =>
        GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 100 * percent;

    public SinkResult Admit(in ReceivedBatch batch)
    {
        if (!_refusing)
        {
            return SinkResult.Ok;
        }

        Interlocked.Increment(ref _refusedBatches);
        return SinkResult.Refuse(_retryAfter, "memory limit reached");
    }

    /// <summary>One measurement (the timer calls it every check interval; tests call it directly).</summary>
    internal void Check()
    {
        // A check that outlasts the interval (a long collection) is not run twice at once; the next tick measures again.
        if (!_checkGate.TryEnter())
        {
            return;
        }

        try
        {
            long used = _measure();
            if (used > _limits.LimitBytes && CollectionAllowed(_limits.MinGcIntervalWhenHardLimited))
            {
                // Close to being killed: give memory back to the OS now, not on the GC's own schedule.
                used = CollectAndMeasure(aggressive: true, used);
            }
            else if (used > _softLimitBytes && CollectionAllowed(_limits.MinGcIntervalWhenSoftLimited))
            {
                used = CollectAndMeasure(aggressive: false, used);
            }

            Interlocked.Exchange(ref _usageBytes, used);
            bool refuse = used > _softLimitBytes;
            if (refuse != _refusing)
            {
                _refusing = refuse;
                ProcessorLog.MemoryLimiterState(_logger, Id, refuse ? "refusing" : "accepting", used / (1024 * 1024), _softLimitBytes / (1024 * 1024));
            }
        }
        finally
        {
            _checkGate.Exit();
        }
    }

    public ValueTask DisposeAsync() => _timer.DisposeAsync();

    private bool CollectionAllowed(TimeSpan minInterval)
    {
        if (!_collectedBefore)
        {
            return true;
        }

        TimeSpan since = _time.GetElapsedTime(_lastCollectionTimestamp);
        return since >= minInterval || since.Ticks >= _lastPause.Ticks * CheapCollectionRatio;
    }

    private long CollectAndMeasure(bool aggressive, long before)
    {
        TimeSpan pause = _collect(aggressive);
        _lastPause = pause;
        _lastCollectionTimestamp = _time.GetTimestamp();
        _collectedBefore = true;
        Interlocked.Increment(ref _forcedCollections);
        long after = _measure();
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            ProcessorLog.MemoryLimiterCollected(_logger, Id, aggressive ? "aggressive" : "full", before / (1024 * 1024), after / (1024 * 1024), pause.TotalMilliseconds);
        }

        return after;
    }

    /// <summary>A blocking full collection; returns how long it paused the process.</summary>
    private static TimeSpan Collect(bool aggressive)
    {
        TimeSpan pausedBefore = GC.GetTotalPauseDuration();
        if (aggressive)
        {
            // Compacts every generation (the LOH too) and decommits free space: resident memory goes down as well.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
        else
        {
            // Frees what is dead; no LOH compaction, no decommit, so the next allocations stay cheap.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
        }

        return GC.GetTotalPauseDuration() - pausedBefore;
    }
}
