using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Storage;
using TraceSeal.Collector.Telemetry;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Hosting;

/// <summary>Which forwarders read a sealed store's WAL instead of being called by the pipelines (docs/architecture.md).</summary>
internal static class WalForwarding
{
    /// <summary>
    /// The WAL as the one acknowledgement point (docs/architecture.md): an `otlp` / `otlphttp` exporter whose pipelines are
    /// exactly those of a `sealed_store` (every pipeline that lists one lists the other; with or without `s3`), or all of
    /// the store's pipelines of its signals (<see cref="Reads"/>), forwards from that store's WAL instead of being called
    /// by the pipelines: one sealed, fsync'd write per request, and the
    /// request is acknowledged without waiting for upstream. Returns the ids of the exporters so attached (the pipelines
    /// leave them out); their otelcol_exporter_queue_capacity is the store's wal::max_backlog_bytes per tenant (summed over the tenants with the size; call after
    /// <see cref="ComponentFactory.Instrument"/>).
    /// Any other forwarder keeps its own path (its sealed queue, or acknowledging after upstream accepted): the WAL would
    /// miss requests of its own (a pipeline of its own without the store) or hold others it cannot tell apart (a
    /// pipeline of the store's it is not in, of a signal it forwards). A forwarder that shares a pipeline with a store but is not
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
                if (Reads(config, pipelines, storePipelines, out var signals))
                {
                    store.AddConsumer(forwarder.ReadWal(storeId, store.Root, signals));
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

    /// <summary>
    /// Whether a forwarder in <paramref name="pipelines"/> can read the WAL of a store in <paramref name="storePipelines"/>:
    /// every request of its pipelines must be in the WAL (so it is in no pipeline without the store), and it must be
    /// able to tell its own records from the others. Either the pipelines are the same (<paramref name="signals"/> null:
    /// every record is its own), or its pipelines are a part of the store's and every other pipeline of the store carries
    /// a signal none of its own does (<paramref name="signals"/>: its signals; a record carries its signal). A store
    /// with `traces/a` and `traces/b` and a forwarder in `traces/a` only cannot: their records look alike.
    /// </summary>
    internal static bool Reads(CollectorConfig config, HashSet<string> pipelines, HashSet<string> storePipelines, out IReadOnlySet<OtlpSignal>? signals)
    {
        signals = null;
        if (pipelines.SetEquals(storePipelines))
        {
            return true;
        }

        if (pipelines.Count == 0 || !pipelines.IsSubsetOf(storePipelines))
        {
            return false;
        }

        var own = config.Pipelines.Where(p => pipelines.Contains(p.Name)).Select(p => p.Signal).ToHashSet();
        if (config.Pipelines.Any(p => storePipelines.Contains(p.Name) && !pipelines.Contains(p.Name) && own.Contains(p.Signal)))
        {
            return false;
        }

        signals = own;
        return true;
    }

    private static HashSet<string> PipelinesOf(CollectorConfig config, string exporterId) =>
        config.Pipelines.Where(p => p.Exporters.Contains(exporterId, StringComparer.Ordinal)).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
}
