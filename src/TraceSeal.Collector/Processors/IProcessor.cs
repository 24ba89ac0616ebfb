using TraceSeal.Collector.Pipeline;

namespace TraceSeal.Collector.Processors;

/// <summary>
/// A processor sits between receivers and exporters in a pipeline. Admission processors (`memory_limiter`, `batch`)
/// only admit or refuse and never look at the payload. Processors that change telemetry before it is sealed
/// (`attributes`, `resource`, `redaction`) also implement <see cref="Transform.ITelemetryTransform"/>; they admit
/// everything and the pipeline's <see cref="Transform.PayloadRewriter"/> applies them.
/// </summary>
internal interface IProcessor : IAsyncDisposable
{
    string Id { get; }

    /// <summary>Decides before any exporter runs; a refusal is always retryable.</summary>
    SinkResult Admit(in ReceivedBatch batch);
}
