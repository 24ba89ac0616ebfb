using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Logs;
using TraceSeal.OpenTelemetry.Telemetry;

namespace TraceSeal.OpenTelemetry.Pipeline;

/// <summary>The upstream bounded batch processor, counting what it drops when its queue is full.</summary>
internal sealed class CountingActivityProcessor(BaseExporter<Activity> exporter, ExporterContext context, SecureOtlpOptions options)
    : BatchActivityExportProcessor(exporter, options.MaxQueueSize, (int)options.ScheduledDelay.TotalMilliseconds, (int)context.Settings.Timeout.TotalMilliseconds * 2, options.MaxExportBatchSize)
{
    private long _reported;

    protected override void OnExport(Activity data)
    {
        base.OnExport(data);
        QueueFull.Report(this, context, ref _reported);
    }
}

/// <summary>The upstream bounded batch processor for log records, counting what it drops when its queue is full.</summary>
internal sealed class CountingLogProcessor(BaseExporter<LogRecord> exporter, ExporterContext context, SecureOtlpOptions options)
    : BatchLogRecordExportProcessor(exporter, options.MaxQueueSize, (int)options.ScheduledDelay.TotalMilliseconds, (int)context.Settings.Timeout.TotalMilliseconds * 2, options.MaxExportBatchSize)
{
    private long _reported;

    protected override void OnExport(LogRecord data)
    {
        base.OnExport(data);
        QueueFull.Report(this, context, ref _reported);
    }
}

/// <summary>
/// Turns the processor's running drop count into counter increments. Upstream keeps both the count and the
/// per-drop hook internal in 1.20, so the count is read through reflection, once per OnExport; should a later
/// version rename it, queue-full drops go uncounted (never a failure).
/// </summary>
internal static class QueueFull
{
    public static void Report<T>(BatchExportProcessor<T> processor, ExporterContext context, ref long reported)
        where T : class
    {
        long dropped = Accessor<T>.DroppedCount?.Invoke(processor) ?? 0;
        long before = Volatile.Read(ref reported);
        if (dropped > before && Interlocked.CompareExchange(ref reported, dropped, before) == before)
        {
            SecureOtlpMetrics.Dropped.Add(dropped - before, context.SignalTag, SecureOtlpMetrics.Reason("queue_full"));
            if (before == 0)
            {
                SecureOtlpLog.ItemsDropped(context.Logger, dropped, context.Signal, $"the in-memory queue (MaxQueueSize {context.Options.MaxQueueSize}) is full; the collector is slow or unreachable");
            }
        }
    }
}

internal static class Accessor<T>
    where T : class
{
    public static readonly Func<BatchExportProcessor<T>, long>? DroppedCount = Create();

    private static Func<BatchExportProcessor<T>, long>? Create()
    {
        System.Reflection.MethodInfo? getter = typeof(BatchExportProcessor<T>)
            .GetProperty("DroppedCount", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)
            ?.GetGetMethod(nonPublic: true);
        return getter is not null && getter.ReturnType == typeof(long)
            ? getter.CreateDelegate<Func<BatchExportProcessor<T>, long>>()
            : null;
    }
}
