using TraceSeal.Collector.Processors;
using TraceSeal.Collector.Processors.Attributes;
using TraceSeal.Collector.Processors.Batch;
using TraceSeal.Collector.Processors.MemoryLimiter;
using TraceSeal.Collector.Processors.Redaction;
using TraceSeal.Collector.Processors.Resource;

namespace TraceSeal.Collector.Config;

/// <summary>
/// Every processor type (upstream processor configs, same keys and defaults): `memory_limiter` and `batch` here,
/// the processors that change telemetry (`attributes`, `resource`, `redaction`) by the parser in their folder.
/// </summary>
internal static class ProcessorParser
{
    public static readonly string[] Types = ["memory_limiter", "batch", AttributesParser.Type, ResourceParser.Type, RedactionParser.Type];

    private static readonly string[] MemoryLimiterKeys =
        ["check_interval", "limit_mib", "spike_limit_mib", "limit_percentage", "spike_limit_percentage",
            "min_gc_interval_when_soft_limited", "min_gc_interval_when_hard_limited"];

    private static readonly string[] BatchKeys = ["send_batch_size", "timeout", "send_batch_max_size"];

    public static ProcessorSettings? Parse(ConfigContext ctx, string id, string type, YamlMap map) => type switch
    {
        "memory_limiter" => MemoryLimiter(ctx, id, map),
        "batch" => Batch(ctx, id, map),
        AttributesParser.Type => AttributesParser.Parse(ctx, id, map),
        ResourceParser.Type => ResourceParser.Parse(ctx, id, map),
        RedactionParser.Type => RedactionParser.Parse(ctx, id, map),
        _ => null,
    };

    private static MemoryLimiterSettings? MemoryLimiter(ConfigContext ctx, string id, YamlMap m)
    {
        m.CheckKeys(MemoryLimiterKeys);
        var interval = m.Duration("check_interval");
        var limitMib = m.Integer("limit_mib", 1);
        var spikeMib = m.Integer("spike_limit_mib", 0);
        var limitPct = m.Integer("limit_percentage", 1, 100);
        var spikePct = m.Integer("spike_limit_percentage", 0, 100);
        var softGc = m.Duration("min_gc_interval_when_soft_limited", allowZero: true);
        var hardGc = m.Duration("min_gc_interval_when_hard_limited", allowZero: true);
        bool ok = true;
        if (!m.Has("check_interval"))
        {
            ctx.Error(m.At, m.Child("check_interval"), "required: how often memory is checked, e.g. 1s");
            ok = false;
        }

        if (!m.Has("limit_mib") && !m.Has("limit_percentage"))
        {
            ctx.Error(m.At, m.Path, "set limit_mib or limit_percentage: the memory this collector may use before refusing data");
            ok = false;
        }
        else if (m.Has("limit_mib") && m.Has("limit_percentage"))
        {
            ctx.Error(m.KeyNode("limit_percentage")!, m.Child("limit_percentage"), "set either limit_mib or limit_percentage, not both");
            ok = false;
        }

        if (limitMib is not null && spikeMib is not null && spikeMib >= limitMib)
        {
            ctx.Error(m.ValueNode("spike_limit_mib")!, m.Child("spike_limit_mib"), $"must be below limit_mib ({limitMib}), found {spikeMib}");
            ok = false;
        }

        if (limitPct is not null && spikePct is not null && spikePct >= limitPct)
        {
            ctx.Error(m.ValueNode("spike_limit_percentage")!, m.Child("spike_limit_percentage"), $"must be below limit_percentage ({limitPct}), found {spikePct}");
            ok = false;
        }

        // As upstream's validation (over the effective values): above the hard limit collections are at least as urgent.
        var softInterval = softGc ?? MemoryLimits.DefaultMinGcIntervalWhenSoftLimited;
        var hardInterval = hardGc ?? MemoryLimits.DefaultMinGcIntervalWhenHardLimited;
        if (hardInterval > softInterval)
        {
            // Only a written hard interval can exceed the soft one (its default is 0).
            ctx.Error(m.ValueNode("min_gc_interval_when_hard_limited")!, m.Child("min_gc_interval_when_hard_limited"),
                $"min_gc_interval_when_hard_limited ({Seconds(hardInterval)}) must not be longer than min_gc_interval_when_soft_limited ({Seconds(softInterval)})");
            ok = false;
        }

        return ok && interval is not null
            ? new MemoryLimiterSettings
            {
                Name = id,
                CheckInterval = interval.Value,
                LimitMib = limitMib,
                SpikeLimitMib = spikeMib,
                LimitPercentage = (int?)limitPct,
                SpikeLimitPercentage = (int?)spikePct,
                MinGcIntervalWhenSoftLimited = softInterval,
                MinGcIntervalWhenHardLimited = hardInterval,
            }
            : null;
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + "s";

    private static BatchSettings Batch(ConfigContext ctx, string id, YamlMap m)
    {
        m.CheckKeys(BatchKeys);
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
