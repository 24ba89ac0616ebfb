using System.Collections.Concurrent;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Exporters.Discard;

/// <summary>
/// Counts and drops. It exists so that ingest can run (and be measured) with nothing written anywhere:
/// unlike upstream's `debug` and `file` exporters it never puts telemetry in plaintext on disk or in logs.
/// </summary>
internal sealed class DiscardExporter(string id) : IExporter
{
    private readonly long[] _items = new long[3];
    private readonly long[] _requests = new long[3];
    private readonly ConcurrentDictionary<string, long> _itemsByTenant = new(StringComparer.Ordinal);

    public string Id { get; } = id;

    /// <summary>Items (spans, data points, log records) received for a signal.</summary>
    public long Items(OtlpSignal signal) => Interlocked.Read(ref _items[(int)signal]);

    public long Requests(OtlpSignal signal) => Interlocked.Read(ref _requests[(int)signal]);

    public long ItemsForTenant(string tenant) => _itemsByTenant.TryGetValue(tenant, out var n) ? n : 0;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask<SinkResult> ExportAsync(ReceivedBatch batch, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref _items[(int)batch.Signal], batch.ItemCount);
        Interlocked.Increment(ref _requests[(int)batch.Signal]);
        // One dictionary operation per request (not per item); tenants are few and long-lived.
        _itemsByTenant.AddOrUpdate(batch.Tenant, batch.ItemCount, (_, n) => n + batch.ItemCount);
        return ValueTask.FromResult(SinkResult.Ok);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
