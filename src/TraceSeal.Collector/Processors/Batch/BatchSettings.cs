using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Processors.Batch;

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
