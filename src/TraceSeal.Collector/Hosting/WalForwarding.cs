using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage;
using TraceSeal.Collector.Telemetry;
using TraceSeal.Otlp;
using TraceSeal.Storage.Format;

namespace TraceSeal.Collector.Hosting;

/// <summary>Which forwarders read a sealed store's WAL instead of being called by the pipelines (docs/architecture.md).</summary>
internal static class WalForwarding
{
    /// <summary>
    /// The WAL as the one acknowledgement point (docs/architecture.md): an `otlp` / `otlphttp` exporter all of whose
    /// pipelines have a `sealed_store` (with or without `s3`) forwards from that store's WAL instead of being called
    /// by the pipelines (<see cref="Reads"/>): one sealed, fsync'd write per request, and the request is acknowledged
    /// without waiting for upstream. Its pipelines may be any part of the store's: each WAL record names the
    /// forwarders of the pipelines that wrote it (docs/format.md §14.12, <see cref="Route"/>), and a forwarder takes
    /// only the records that name it. Returns the ids of the exporters so attached (the pipelines leave them out);
    /// their otelcol_exporter_queue_capacity is the store's wal::max_backlog_bytes per tenant (summed over the tenants with the size; call after
    /// <see cref="ComponentFactory.Instrument"/>).
    /// Any other forwarder keeps its own path (its sealed queue, or acknowledging after upstream accepted): the WAL would
    /// miss the requests of its pipelines without the store. A forwarder that shares a pipeline with a store but is not
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
                    if (store.Consumers.Count == StoreFormat.MaxRecordConsumers)
                    {
                        throw new InvalidOperationException(
                            $"{config.SourcePath}: exporters::{storeId}: at most {StoreFormat.MaxRecordConsumers} forwarders can read one store's WAL");
                    }

                    store.AddConsumer(forwarder.ReadWal(storeId, store.Root, signals, string.Join(", ", pipelines.Order(StringComparer.Ordinal))));
                    if (store.Consumers.Select(c => c.ConsumerId).Distinct().Count() != store.Consumers.Count)
                    {
                        // Two exporter ids with the same 64-bit hash (docs/format.md §14.12): never seen, but records must not be ambiguous.
                        throw new InvalidOperationException($"{config.SourcePath}: exporters::{id}: its WAL consumer id collides with another forwarder's of {storeId}; rename it");
                    }

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
    /// every request of its pipelines must be in the WAL, so it is in no pipeline without the store. Which records are its
    /// own the records say (docs/format.md §14.12). <paramref name="signals"/>: its pipelines' signals, or null when its
    /// pipelines are the store's; they decide only for version 1 records, which name no forwarder (written before records
    /// did, when a forwarder attached only if every record of its signals was its own).
    /// </summary>
    internal static bool Reads(CollectorConfig config, HashSet<string> pipelines, HashSet<string> storePipelines, out IReadOnlySet<OtlpSignal>? signals)
    {
        signals = null;
        if (pipelines.Count == 0 || !pipelines.IsSubsetOf(storePipelines))
        {
            return false;
        }

        if (!pipelines.SetEquals(storePipelines))
        {
            signals = config.Pipelines.Where(p => pipelines.Contains(p.Name)).Select(p => p.Signal).ToHashSet();
        }

        return true;
    }

    /// <summary>
    /// The pipelines of one receiver as its router calls them (<paramref name="pipelines"/>: every pipeline of the config,
    /// in order, leaving out the attached forwarders), with each sealed store that forwarders read replaced by a route
    /// that names, in the request's WAL record, the attached forwarders of the pipelines it writes for (docs/format.md
    /// §14.12). A request the receiver hands to several pipelines that do not transform it is written to a store once:
    /// by the first of them, naming the forwarders of all of them; the others leave that store out. A pipeline that
    /// transforms writes its own record (its bytes differ), naming its own forwarders. Everything here is decided at
    /// start: per request a route costs one field set on the batch.
    /// </summary>
    public static IEnumerable<TelemetryPipeline> Route(
        CollectorConfig config, string receiver, IReadOnlyList<TelemetryPipeline> pipelines, IReadOnlyDictionary<string, IExporter> exporters, HashSet<string> attached)
    {
        var own = Enumerable.Range(0, config.Pipelines.Count).Where(i => config.Pipelines[i].Receivers.Contains(receiver)).ToList();
        foreach (int i in own)
        {
            var settings = config.Pipelines[i];
            var pipeline = pipelines[i];
            var calls = new List<IExporter>();
            bool changed = false;
            int next = 0;
            foreach (var id in settings.Exporters)
            {
                if (attached.Contains(id))
                {
                    continue;
                }

                var call = pipeline.Exporters[next++];
                if (exporters[id] is not SealedStoreExporter store)
                {
                    calls.Add(call);
                    continue;
                }

                // The pipelines this one writes the store's record for: itself, or, when it does not transform, every
                // pipeline of the receiver for its signal that does not transform and lists the store, the first of
                // which writes.
                var writesFor = new List<string> { settings.Name };
                if (!pipeline.Transforms)
                {
                    var sharing = own.Where(j => config.Pipelines[j].Signal == settings.Signal && !pipelines[j].Transforms
                                                 && config.Pipelines[j].Exporters.Contains(id, StringComparer.Ordinal)).ToList();
                    if (sharing[0] != i)
                    {
                        changed = true;
                        continue;
                    }

                    writesFor = sharing.Select(j => config.Pipelines[j].Name).ToList();
                }

                if (store.Consumers.Count == 0)
                {
                    calls.Add(call);
                    continue;
                }

                var names = store.Consumers
                    .Where(c => writesFor.Any(p => config.Pipelines.First(s => s.Name == p).Exporters.Contains(c.Id, StringComparer.Ordinal)))
                    .Select(c => c.ConsumerId);
                calls.Add(new RoutedStore(call, StoreFormat.EncodeConsumers(names)));
                changed = true;
            }

            yield return changed ? pipeline.WithExporters([.. calls]) : pipeline;
        }
    }

    private static HashSet<string> PipelinesOf(CollectorConfig config, string exporterId) =>
        config.Pipelines.Where(p => p.Exporters.Contains(exporterId, StringComparer.Ordinal)).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// A sealed store as one route calls it: the request goes on with the route's consumer list (its WAL record's,
    /// docs/format.md §14.12). <paramref name="store"/> is what the pipeline would call (the counting wrapper); the host
    /// starts and stops the store itself.
    /// </summary>
    private sealed class RoutedStore(IExporter store, byte[] consumers) : IExporter
    {
        public string Id => store.Id;

        public ValueTask<SinkResult> ExportAsync(ReceivedBatch batch, CancellationToken cancellationToken) =>
            store.ExportAsync(batch with { WalConsumers = consumers }, cancellationToken);

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
