namespace TraceSeal.Collector.Config;

/// <summary>Settings of one processor; the concrete type says which component it is.</summary>
internal abstract class ProcessorSettings
{
    /// <summary>Component id as written, e.g. `batch` or `memory_limiter/hard`.</summary>
    public required string Name { get; init; }
}

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

    /// <summary>10 s as upstream: a forced full collection is CPU-heavy (a cheap one may repeat sooner; see MemoryLimiter).</summary>
    public TimeSpan MinGcIntervalWhenSoftLimited { get; init; } = Processors.MemoryLimits.DefaultMinGcIntervalWhenSoftLimited;

    /// <summary>0 as upstream: above the hard limit memory comes first.</summary>
    public TimeSpan MinGcIntervalWhenHardLimited { get; init; } = Processors.MemoryLimits.DefaultMinGcIntervalWhenHardLimited;
}

/// <summary>`batch`: accepted so upstream configs load; the defaults are upstream's.</summary>
internal sealed class BatchSettings : ProcessorSettings
{
    /// <summary>8192 as upstream: large enough to amortise per-request costs.</summary>
    public int SendBatchSize { get; init; } = 8192;

    /// <summary>200ms as upstream: bounds the delay a quiet pipeline adds.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>0 = no upper limit, as upstream; otherwise at least <see cref="SendBatchSize"/>.</summary>
    public int SendBatchMaxSize { get; init; }
}
