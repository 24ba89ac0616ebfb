using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Processors.Batch;

/// <summary>`batch` (upstream processor/batchprocessor config: same keys and defaults).</summary>
internal static class BatchParser
{
    private static readonly string[] Keys = ["send_batch_size", "timeout", "send_batch_max_size"];

    public static BatchSettings Parse(ConfigContext ctx, string id, YamlMap m)
    {
        m.CheckKeys(Keys);
        var defaults = new BatchSettings { Name = id };
        var size = (int?)m.Integer("send_batch_size", 1, int.MaxValue) ?? defaults.SendBatchSize;
        var timeout = m.Duration("timeout", allowZero: true) ?? defaults.Timeout;
        var max = (int?)m.Integer("send_batch_max_size", 0, int.MaxValue) ?? defaults.SendBatchMaxSize;
        if (max != 0 && max < size)
        {
            ctx.Error(m.ValueNode("send_batch_max_size")!, m.Child("send_batch_max_size"),
                $"must be 0 (no limit) or at least send_batch_size ({size}), found {max}");
        }

        return new BatchSettings { Name = id, SendBatchSize = size, Timeout = timeout, SendBatchMaxSize = max };
    }
}
