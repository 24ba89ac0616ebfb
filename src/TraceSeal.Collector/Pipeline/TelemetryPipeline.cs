using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Processors;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Pipeline;

/// <summary>One `service.pipelines` entry: processors in order (admission), then every exporter.</summary>
internal sealed class TelemetryPipeline(string name, OtlpSignal signal, IProcessor[] processors, IExporter[] exporters)
{
    public string Name { get; } = name;
    public OtlpSignal Signal { get; } = signal;

    public async ValueTask<SinkResult> ProcessAsync(ReceivedBatch batch, CancellationToken cancellationToken)
    {
        foreach (var processor in processors)
        {
            var admitted = processor.Admit(batch);
            if (!admitted.Accepted)
            {
                return admitted;
            }
        }

        // Until the sealed WAL decouples acknowledgement from export, the client is acknowledged only when
        // every exporter took the batch; a refusal from one makes the client retry (at-least-once).
        foreach (var exporter in exporters)
        {
            var result = await exporter.ExportAsync(batch, cancellationToken).ConfigureAwait(false);
            if (!result.Accepted)
            {
                return result;
            }
        }

        return SinkResult.Ok;
    }
}
