using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Storage;

namespace TraceSeal.Collector.Hosting;

/// <summary>Which forwarders read a sealed store's WAL instead of being called by the pipelines (docs/architecture.md).</summary>
internal static class WalForwarding
{
    /// <summary>
    /// The WAL as the one acknowledgement point (docs/architecture.md): an `otlp` / `otlphttp` exporter whose pipelines are
    /// exactly those of a filesystem `sealed_store` (every pipeline that lists one lists the other) forwards from that
    /// store's WAL instead of being called by the pipelines: one sealed, fsync'd write per request, and the request is
    /// acknowledged without waiting for upstream. Returns the ids of the exporters so attached (the pipelines leave them
    /// out). Any other forwarder keeps its own path (its sealed queue, or acknowledging after upstream accepted): with
    /// other pipelines it would forward, or miss, requests that are not its own; with `s3` the store removes its local
    /// segments once uploaded.
    /// </summary>
    public static HashSet<string> Attach(CollectorConfig config, IReadOnlyDictionary<string, IExporter> exporters)
    {
        var attached = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (id, exporter) in exporters)
        {
            if (exporter is not Exporters.Otlp.OtlpForwardingExporter forwarder)
            {
                continue;
            }

            var pipelines = PipelinesOf(config, id);
            foreach (var (storeId, candidate) in exporters.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                if (candidate is SealedStoreExporter { UsesObjectStorage: false } store && pipelines.SetEquals(PipelinesOf(config, storeId)))
                {
                    store.AddConsumer(forwarder.ReadWal(storeId, store.Root));
                    attached.Add(id);
                    break;
                }
            }
        }

        return attached;
    }

    private static HashSet<string> PipelinesOf(CollectorConfig config, string exporterId) =>
        config.Pipelines.Where(p => p.Exporters.Contains(exporterId, StringComparer.Ordinal)).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
}
