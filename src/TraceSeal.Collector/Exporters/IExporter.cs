using TraceSeal.Collector.Pipeline;

namespace TraceSeal.Collector.Exporters;

/// <summary>
/// An exporter receives validated batches from one or more pipelines. Its result is part of the client's
/// acknowledgement until the sealed WAL decouples the two (see docs/architecture.md).
/// </summary>
internal interface IExporter : IAsyncDisposable
{
    /// <summary>Component id as written in the config, e.g. `discard` or `sealed_store/ops`.</summary>
    string Id { get; }

    Task StartAsync(CancellationToken cancellationToken);

    ValueTask<SinkResult> ExportAsync(ReceivedBatch batch, CancellationToken cancellationToken);

    Task StopAsync(CancellationToken cancellationToken);
}
