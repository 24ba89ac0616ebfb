using Microsoft.Extensions.Logging;

namespace TraceSeal.Collector.Processors;

internal static partial class ProcessorLog
{
    [LoggerMessage(3001, LogLevel.Warning, "memory_limiter {Id}: now {State} (resident {UsedMiB} MiB, soft limit {SoftMiB} MiB)", EventName = "MemoryLimiterState")]
    public static partial void MemoryLimiterState(ILogger logger, string id, string state, long usedMiB, long softMiB);
}
