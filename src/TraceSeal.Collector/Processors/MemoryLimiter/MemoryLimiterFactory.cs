using Microsoft.Extensions.Logging;

namespace TraceSeal.Collector.Processors.MemoryLimiter;

/// <summary>Validated `memory_limiter` settings → the running processor (limits in bytes).</summary>
internal static class MemoryLimiterFactory
{
    public static MemoryLimiterProcessor Create(string id, MemoryLimiterSettings m, ILogger logger) => new(
        id,
        new MemoryLimits(
            m.LimitMib is > 0 ? m.LimitMib.Value * 1024 * 1024 : MemoryLimiterProcessor.PercentOfAvailable(m.LimitPercentage ?? 0),
            m.SpikeLimitMib is > 0 ? m.SpikeLimitMib.Value * 1024 * 1024 : MemoryLimiterProcessor.PercentOfAvailable(m.SpikeLimitPercentage ?? 0),
            m.CheckInterval,
            m.MinGcIntervalWhenSoftLimited,
            m.MinGcIntervalWhenHardLimited),
        logger);
}
