using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Processors.MemoryLimiter;

/// <summary>`memory_limiter`: exactly one of <see cref="LimitMib"/> and <see cref="LimitPercentage"/> is set.</summary>
internal sealed class MemoryLimiterSettings : ProcessorSettings
{
    /// <summary>Required, as upstream: there is no interval that suits every heap size.</summary>
    public required TimeSpan CheckInterval { get; init; }

    public long? LimitMib { get; init; }

    /// <summary>Null = 20% of the limit (upstream's default).</summary>
    public long? SpikeLimitMib { get; init; }

    /// <summary>Percent (1-100) of the memory available to the process (cgroup aware).</summary>
    public int? LimitPercentage { get; init; }

    public int? SpikeLimitPercentage { get; init; }

    /// <summary>10 s as upstream: a forced full collection is CPU-heavy (a cheap one may repeat sooner; see MemoryLimiterProcessor).</summary>
    public TimeSpan MinGcIntervalWhenSoftLimited { get; init; } = MemoryLimits.DefaultMinGcIntervalWhenSoftLimited;

    /// <summary>0 as upstream: above the hard limit memory comes first.</summary>
    public TimeSpan MinGcIntervalWhenHardLimited { get; init; } = MemoryLimits.DefaultMinGcIntervalWhenHardLimited;
}
