using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Exporters.Debug;
using TraceSeal.Collector.Exporters.Discard;
using TraceSeal.Collector.Exporters.Nop;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Processors;
using TraceSeal.Collector.Processors.Batch;
using TraceSeal.Collector.Processors.MemoryLimiter;
using TraceSeal.Collector.Storage;
using TraceSeal.Collector.Telemetry;

namespace TraceSeal.Collector.Hosting;

/// <summary>Validated settings → running components. The one place that knows every component type.</summary>
internal static class ComponentFactory
{
    /// <param name="loggerFactory">Null = no logs (the host passes its factory once it is wired through).</param>
    /// <param name="batch">For otlp / otlphttp: <see cref="BatchFor"/> (the sealed queue's sender merges by it); null = no merging.</param>
    public static IExporter CreateExporter(string id, ExporterSettings settings, string configPath, ILoggerFactory? loggerFactory = null, BatchSettings? batch = null) => settings switch
    {
        DiscardExporterSettings => new DiscardExporter(id),
        NopExporterSettings => new NopExporter(id),
        DebugExporterSettings d => new DebugExporter(id, d, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("TraceSeal.Exporters.Debug")),
        // Loads the recipient files and refuses any that holds a private key (the collector never opens).
        SealedStoreExporterSettings s => SealedStoreExporter.Create(
            id, s, configPath, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("TraceSeal.Storage")),
        // otlp / otlphttp: pinned-CA TLS, retry per the OTLP spec; acknowledges once the batch is in the sealed
        // sending queue (sending_queue.directory), else only after upstream accepted.
        OtlpExporterSettings o => Exporters.Otlp.OtlpForwardingExporter.Create(
            id, o, configPath, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("TraceSeal.Exporters.Otlp"), batch),
        // Every exporter type the loader accepts is built above; reaching this is a bug, and refusing beats dropping.
        _ => throw new InvalidOperationException($"{configPath}: exporters::{id}: no exporter is built for {settings.GetType().Name}"),
    };

    /// <summary>
    /// What the pipelines call instead of <paramref name="exporter"/>: counts items by signal and outcome and times
    /// each export (otelcol_exporter_* metrics, traceseal_wal_write_duration_seconds), and records the byte capacity
    /// of its sealed backlog (otelcol_exporter_queue_capacity).
    /// </summary>
    public static IExporter Instrument(IExporter exporter, ExporterSettings settings)
    {
        switch (settings)
        {
            case OtlpExporterSettings { Queue.IsSealedQueue: true } o:
                PipelineStats.SetQueueCapacity(exporter, o.Queue.MaxBacklogBytes);
                break;
            case SealedStoreExporterSettings s:
                PipelineStats.SetQueueCapacity(exporter, s.Wal.MaxBacklogBytes);
                break;
        }

        return PipelineStats.Count(exporter);
    }

    /// <summary>
    /// The `batch` settings an exporter's queue sender merges by: over every pipeline that feeds it, the smallest
    /// send_batch_size, timeout and non-zero send_batch_max_size. Null (no merging) when a feeding pipeline has no
    /// `batch` processor: the sender cannot tell which pipeline a queued record came from, so the stricter wish wins.
    /// </summary>
    public static BatchSettings? BatchFor(CollectorConfig config, string exporterId)
    {
        BatchSettings? combined = null;
        foreach (var pipeline in config.Pipelines)
        {
            if (!pipeline.Exporters.Contains(exporterId, StringComparer.Ordinal))
            {
                continue;
            }

            bool batched = false;
            foreach (string processor in pipeline.Processors)
            {
                if (config.Processors[processor] is BatchSettings b)
                {
                    batched = true;
                    combined = combined is null ? b : new BatchSettings
                    {
                        Name = combined.Name,
                        SendBatchSize = Math.Min(combined.SendBatchSize, b.SendBatchSize),
                        Timeout = combined.Timeout < b.Timeout ? combined.Timeout : b.Timeout,
                        SendBatchMaxSize = combined.SendBatchMaxSize == 0 ? b.SendBatchMaxSize
                            : b.SendBatchMaxSize == 0 ? combined.SendBatchMaxSize
                            : Math.Min(combined.SendBatchMaxSize, b.SendBatchMaxSize),
                    };
                }
            }

            if (!batched)
            {
                return null;
            }
        }

        return combined;
    }

    public static IProcessor CreateProcessor(string id, ProcessorSettings settings, ILogger logger) => settings switch
    {
        // attributes, resource, redaction: their settings build them (Processors/<name>/).
        IProcessorFactory factory => factory.Create(id, logger),
        MemoryLimiterSettings m => new MemoryLimiterProcessor(
            id,
            new MemoryLimits(
                m.LimitMib is > 0 ? m.LimitMib.Value * 1024 * 1024 : MemoryLimiterProcessor.PercentOfAvailable(m.LimitPercentage ?? 0),
                m.SpikeLimitMib is > 0 ? m.SpikeLimitMib.Value * 1024 * 1024 : MemoryLimiterProcessor.PercentOfAvailable(m.SpikeLimitPercentage ?? 0),
                m.CheckInterval,
                m.MinGcIntervalWhenSoftLimited,
                m.MinGcIntervalWhenHardLimited),
            logger),
        BatchSettings => new BatchProcessor(id),
        _ => throw new InvalidOperationException($"processors::{id}: unsupported processor settings {settings.GetType().Name}"),
    };
}
