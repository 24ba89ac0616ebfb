using TraceSeal.Collector.Pipeline;

namespace TraceSeal.Collector.Processors;

/// <summary>
/// A processor sits between receivers and exporters in a pipeline. In TraceSeal processors only admit or
/// refuse: they never rewrite telemetry, so the bytes that are validated are the bytes that are sealed.
/// </summary>
internal interface IProcessor : IAsyncDisposable
{
    string Id { get; }

    /// <summary>Decides before any exporter runs; a refusal is always retryable.</summary>
    SinkResult Admit(in ReceivedBatch batch);
}
