using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Processors.MemoryLimiter;

/// <summary>`memory_limiter` (upstream processor/memorylimiterprocessor config: same keys, defaults and checks).</summary>
internal static class MemoryLimiterParser
{
    private static readonly string[] Keys =
        ["check_interval", "limit_mib", "spike_limit_mib", "limit_percentage", "spike_limit_percentage",
            "min_gc_interval_when_soft_limited", "min_gc_interval_when_hard_limited"];

    public static MemoryLimiterSettings? Parse(ConfigContext ctx, string id, YamlMap m)
    {
        m.CheckKeys(Keys);
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
}
