using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Processors;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Pipeline;

/// <summary>One `service.pipelines` entry: processors in order (admission), then every exporter.</summary>
internal sealed class TelemetryPipeline(string name, OtlpSignal signal, IProcessor[] processors, IExporter[] exporters)
{
    public string Name { get; } = name;
    public OtlpSignal Signal { get; } = signal;

    /// <summary>Null unless a processor changes telemetry (attributes, resource, redaction): only then is a batch decoded.</summary>
    private readonly Processors.Transform.PayloadRewriter? _rewriter = Processors.Transform.PayloadRewriter.For(processors);

    /// <summary>What it calls after admission, in order.</summary>
    public IReadOnlyList<IExporter> Exporters => exporters;

    /// <summary>A processor may change the telemetry: what reaches its exporters may differ from what the receiver gave.</summary>
    public bool Transforms => _rewriter is not null;

    /// <summary>The same pipeline calling <paramref name="calls"/> instead (one receiver's routes, Hosting/WalForwarding.Route).</summary>
    public TelemetryPipeline WithExporters(IExporter[] calls) => new(Name, Signal, processors, calls);

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

        // After admission, before any exporter: the transforms' batch (new pooled payload, no receiver index) lives
        // until every exporter returned; unchanged telemetry goes on as received.
        using var rewritten = _rewriter is null ? default : _rewriter.Rewrite(batch);
        if (rewritten.Rewritten)
        {
            batch = rewritten.Batch;
        }

        // The client is acknowledged only when every exporter took the batch; a refusal from one makes the
        // client retry (at-least-once). Exporters run side by side, not one after another: a sealed store and a
        // queued forwarder each fsync their own log, and the request waits for the slower, not for the sum.
        if (exporters.Length == 1)
        {
            return await exporters[0].ExportAsync(batch, cancellationToken).ConfigureAwait(false);
        }

        var pending = new ValueTask<SinkResult>[exporters.Length];
        for (int i = 0; i < exporters.Length; i++)
        {
            pending[i] = exporters[i].ExportAsync(batch, cancellationToken);
        }

        SinkResult first = SinkResult.Ok;
        Exception? failure = null;
        for (int i = 0; i < pending.Length; i++)
        {
            // Every exporter is awaited before returning, even after one threw: the batch's buffers are only
            // valid until then.
            try
            {
                var result = await pending[i].ConfigureAwait(false);
                if (!result.Accepted && first.Accepted)
                {
                    first = result;
                }
            }
            catch (Exception e)
            {
                failure ??= e;
            }
        }

        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        return first;
    }
}
