using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Pipeline;

namespace TraceSeal.Collector.Processors;

/// <summary>
/// `memory_limiter`: samples resident memory every check interval and refuses new data while usage is above
/// the soft limit (limit minus spike). Unlike upstream, whose refusal carries no retry hint, the refusal
/// becomes gRPC UNAVAILABLE with RetryInfo / HTTP 503 with Retry-After, so well-behaved clients back off
/// instead of dropping data.
/// </summary>
internal sealed class MemoryLimiter : IProcessor
{
    private readonly long _softLimitBytes;
    private readonly long _hardLimitBytes;
    private readonly TimeSpan _retryAfter;
    private readonly ITimer _timer;
    private readonly ILogger _logger;
    private volatile bool _refusing;

    public MemoryLimiter(string id, TimeSpan checkInterval, long limitBytes, long spikeBytes, ILogger logger, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(limitBytes, 0);
        ArgumentOutOfRangeException.ThrowIfNegative(spikeBytes);
        Id = id;
        _hardLimitBytes = limitBytes;
        // Upstream's default spike is 20% of the limit; a spike at or above the limit would refuse everything.
        _softLimitBytes = limitBytes - Math.Min(spikeBytes == 0 ? limitBytes / 5 : spikeBytes, limitBytes - 1);
        // Clients should come back after a few checks, not hammer us every millisecond.
        _retryAfter = checkInterval < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : checkInterval;
        _logger = logger;
        _timer = (time ?? TimeProvider.System).CreateTimer(_ => Check(), null, TimeSpan.Zero, checkInterval);
    }

    public string Id { get; }

    /// <summary>Bytes of memory the limits are measured against: the resident set of this process.</summary>
    public static long CurrentUsageBytes() => Environment.WorkingSet;

    /// <summary>Turns `limit_percentage` into bytes of the memory available to this process (cgroup aware).</summary>
    public static long PercentOfAvailable(int percent) =>
        GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 100 * percent;

    public bool IsRefusing => _refusing;

    public SinkResult Admit(in ReceivedBatch batch) =>
        _refusing ? SinkResult.Refuse(_retryAfter, "memory limit reached") : SinkResult.Ok;

    internal void Check()
    {
        long used = CurrentUsageBytes();
        if (used > _hardLimitBytes)
        {
            // Above the hard limit: give memory back now rather than waiting for the GC's own schedule.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            used = CurrentUsageBytes();
        }

        bool refuse = used > _softLimitBytes;
        if (refuse != _refusing)
        {
            _refusing = refuse;
            ProcessorLog.MemoryLimiterState(_logger, Id, refuse ? "refusing" : "accepting", used / (1024 * 1024), _softLimitBytes / (1024 * 1024));
        }
    }

    public ValueTask DisposeAsync() => _timer.DisposeAsync();
}
