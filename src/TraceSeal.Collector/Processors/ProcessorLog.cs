using Microsoft.Extensions.Logging;

namespace TraceSeal.Collector.Processors;

/// <summary>Log events of the processors (ids 3001+, unique and append only).</summary>
internal static partial class ProcessorLog
{
    [LoggerMessage(3001, LogLevel.Warning, "memory_limiter {Id}: now {State} (managed heap in use {UsedMiB} MiB, soft limit {SoftMiB} MiB)", EventName = "MemoryLimiterState")]
    public static partial void MemoryLimiterState(ILogger logger, string id, string state, long usedMiB, long softMiB);

    [LoggerMessage(3002, LogLevel.Debug, "memory_limiter {Id}: forced a {Mode} collection: managed heap in use {BeforeMiB} MiB before, {AfterMiB} MiB after, paused {PauseMs} ms", EventName = "MemoryLimiterCollected")]
    public static partial void MemoryLimiterCollected(ILogger logger, string id, string mode, long beforeMiB, long afterMiB, double pauseMs);

    [LoggerMessage(3003, LogLevel.Information, "memory_limiter {Id}: limit {LimitMiB} MiB, refusing above {SoftMiB} MiB of managed heap in use, checked every {CheckInterval}", EventName = "MemoryLimiterLimits")]
    public static partial void MemoryLimiterLimits(ILogger logger, string id, long limitMiB, long softMiB, TimeSpan checkInterval);
}
