using TraceSeal.Otlp;

namespace TraceSeal.Collector.Pipeline;

/// <summary>
/// The sink a receiver delivers to: every pipeline that lists this receiver for the batch's signal.
/// </summary>
internal sealed class ReceiverRouter : ITelemetrySink
{
    // Indexed by (int)OtlpSignal; arrays, so routing is an index and a loop, no allocation.
    private readonly TelemetryPipeline[][] _bySignal;

    public ReceiverRouter(IEnumerable<TelemetryPipeline> pipelines)
    {
        _bySignal = new TelemetryPipeline[3][];
        for (int s = 0; s < 3; s++)
        {
            _bySignal[s] = pipelines.Where(p => (int)p.Signal == s).ToArray();
        }
    }

    public bool Handles(OtlpSignal signal) => _bySignal[(int)signal].Length > 0;

    public async ValueTask<SinkResult> AcceptAsync(ReceivedBatch batch, CancellationToken cancellationToken)
    {
        var pipelines = _bySignal[(int)batch.Signal];
        if (pipelines.Length == 0)
        {
            return SinkResult.Unsupported($"no {SignalName(batch.Signal)} pipeline uses this receiver");
        }

        foreach (var pipeline in pipelines)
        {
            var result = await pipeline.ProcessAsync(batch, cancellationToken).ConfigureAwait(false);
            if (!result.Accepted)
            {
                return result;
            }
        }

        return SinkResult.Ok;
    }

    public static string SignalName(OtlpSignal signal) => signal switch
    {
        OtlpSignal.Traces => "traces",
        OtlpSignal.Metrics => "metrics",
        _ => "logs",
    };
}
