using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Storage;
using TraceSeal.Collector.Telemetry;

namespace TraceSeal.Collector.Hosting;

/// <summary>Which forwarders read a sealed store's WAL instead of being called by the pipelines (docs/architecture.md).</summary>
internal static class WalForwarding
{
    /// <summary>
    /// The WAL as the one acknowledgement point (docs/architecture.md): an `otlp` / `otlphttp` exporter whose pipelines are
    /// exactly those of a `sealed_store` (every pipeline that lists one lists the other; with or without `s3`) forwards
    /// from that store's WAL instead of being called by the pipelines: one sealed, fsync'd write per request, and the
    /// request is acknowledged without waiting for upstream. Returns the ids of the exporters so attached (the pipelines
    /// leave them out); their otelcol_exporter_queue_capacity is the store's wal::max_backlog_bytes (call after
    /// <see cref="ComponentFactory.Instrument"/>).
    /// Any other forwarder keeps its own path (its sealed queue, or acknowledging after upstream accepted): with other
    /// pipelines the WAL would hold requests that are not its own (a pipeline of the store's it is not in) or miss some
    /// that are (a pipeline of its own without the store). A forwarder that shares a pipeline with a store but is not
    /// attached is logged once, with both pipeline lists, so the double write is visible.
    /// </summary>
    public static HashSet<string> Attach(CollectorConfig config, IReadOnlyDictionary<string, IExporter> exporters, ILogger? logger = null)
    {
        var attached = new HashSet<string>(StringComparer.Ordinal);
        var stores = exporters.Where(e => e.Value is SealedStoreExporter).OrderBy(e => e.Key, StringComparer.Ordinal).ToList();
        foreach (var (id, exporter) in exporters.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (exporter is not OtlpForwardingExporter forwarder)
            {
                continue;
            }

            var pipelines = PipelinesOf(config, id);
            string? overlapping = null;
            foreach (var (storeId, candidate) in stores)
            {
                var store = (SealedStoreExporter)candidate;
                var storePipelines = PipelinesOf(config, storeId);
                if (pipelines.SetEquals(storePipelines))
                {
                    store.AddConsumer(forwarder.ReadWal(storeId, store.Root));
                    if (config.Exporters[storeId] is SealedStoreExporterSettings settings)
                    {
                        PipelineStats.SetQueueCapacity(forwarder, settings.Wal.MaxBacklogBytes);
                    }

                    attached.Add(id);
                    overlapping = null;
                    break;
                }

                if (overlapping is null && pipelines.Overlaps(storePipelines))
                {
                    overlapping = storeId;
                }
            }

            if (overlapping is not null && logger is not null)
            {
                ExporterLog.KeepsOwnQueue(
                    logger,
                    id,
                    overlapping,
                    config.Exporters[id] is OtlpExporterSettings { Queue.IsSealedQueue: true } ? "its own sealed sending queue" : "acknowledging only after upstream accepted (no sending_queue)",
                    string.Join(", ", pipelines.Order(StringComparer.Ordinal)),
                    string.Join(", ", PipelinesOf(config, overlapping).Order(StringComparer.Ordinal)));
            }
        }

        return attached;
    }

    private static HashSet<string> PipelinesOf(CollectorConfig config, string exporterId) =>
        config.Pipelines.Where(p => p.Exporters.Contains(exporterId, StringComparer.Ordinal)).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
}
