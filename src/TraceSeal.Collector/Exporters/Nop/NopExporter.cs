using TraceSeal.Collector.Pipeline;

namespace TraceSeal.Collector.Exporters.Nop;

/// <summary>
/// Accepts every batch and does nothing with it, as upstream's `nop`: for configs that need an exporter to be
/// valid (a pipeline kept for later, a receiver being tried out). Unlike `discard` it keeps no per-tenant counts;
/// what it received still shows in the receiver and exporter metrics.
/// </summary>
internal sealed class NopExporter(string id) : IExporter
{
    public string Id { get; } = id;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask<SinkResult> ExportAsync(ReceivedBatch batch, CancellationToken cancellationToken) => ValueTask.FromResult(SinkResult.Ok);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
