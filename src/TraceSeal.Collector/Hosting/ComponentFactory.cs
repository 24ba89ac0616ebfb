using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Components;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Processors;
using TraceSeal.Collector.Processors.Batch;
using TraceSeal.Collector.Telemetry;

namespace TraceSeal.Collector.Hosting;

/// <summary>Validated settings → running components, by the factories of the component table (Components/ComponentTable.cs).</summary>
internal static class ComponentFactory
{
    /// <param name="loggerFactory">Null = no logs (the host passes its factory once it is wired through).</param>
    /// <param name="batch">For otlp / otlphttp: <see cref="BatchFor"/> (the sealed queue's sender merges by it); null = no merging.</param>
    public static IExporter CreateExporter(string id, ExporterSettings settings, string configPath, ILoggerFactory? loggerFactory = null, BatchSettings? batch = null) =>
        ComponentTable.For(ComponentKind.Exporter, id).CreateExporter!(id, settings, new ExporterBuild(configPath, loggerFactory, batch));

    /// <summary>
    /// What the pipelines call instead of <paramref name="exporter"/>: counts items by signal and outcome and times
    /// each export (otelcol_exporter_* metrics, traceseal_wal_write_duration_seconds), and records the byte capacity
    /// of its sealed backlog (otelcol_exporter_queue_capacity).
    /// </summary>
    public static IExporter Instrument(IExporter exporter, ExporterSettings settings)
    {
        if (ComponentTable.For(ComponentKind.Exporter, settings.Name).BacklogBytes?.Invoke(settings) is { } capacity)
        {
            PipelineStats.SetQueueCapacity(exporter, capacity);
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

    public static IProcessor CreateProcessor(string id, ProcessorSettings settings, ILogger logger) =>
        ComponentTable.For(ComponentKind.Processor, id).CreateProcessor!(id, settings, logger);
}
