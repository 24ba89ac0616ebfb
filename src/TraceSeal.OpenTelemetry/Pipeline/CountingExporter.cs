using OpenTelemetry;
using TraceSeal.OpenTelemetry.Telemetry;
using TraceSeal.OpenTelemetry.Transport;

namespace TraceSeal.OpenTelemetry.Pipeline;

/// <summary>
/// Wraps the upstream OTLP exporter: counts exported and dropped items, and owns the transport (disposed with
/// the exporter). The upstream exporter reads the resource from its parent provider, which the SDK only sets
/// on the outer exporter, so it is handed on before the first export.
/// </summary>
internal sealed class CountingExporter<T> : BaseExporter<T>
    where T : class
{
    private static readonly System.Reflection.MethodInfo? ParentProviderSetter =
        typeof(BaseExporter<T>).GetProperty(nameof(ParentProvider))?.GetSetMethod(nonPublic: true);

    private readonly BaseExporter<T> _inner;
    private readonly SecureTransport _transport;
    private bool _parentSet;

    public CountingExporter(BaseExporter<T> inner, SecureTransport transport)
    {
        _inner = inner;
        _transport = transport;
    }

    public override ExportResult Export(in Batch<T> batch)
    {
        if (!_parentSet && ParentProvider is not null)
        {
            ParentProviderSetter?.Invoke(_inner, [ParentProvider]);
            _parentSet = true;
        }

        long count = batch.Count;
        _transport.Buffering?.BeginBatch(count);
        ExportResult result = _inner.Export(batch);
        bool buffered = _transport.Buffering?.EndBatch() == true;
        ExporterContext context = _transport.Context;
        if (result == ExportResult.Success)
        {
            SecureOtlpMetrics.Exported.Add(count, context.SignalTag);
        }
        else if (buffered)
        {
            // Not lost: sealed on disk and re-sent later (traceseal.otlp.buffer.*).
        }
        else
        {
            SecureOtlpMetrics.Dropped.Add(count, context.SignalTag, SecureOtlpMetrics.Reason("export_failed"));
            SecureOtlpLog.ItemsDropped(context.Logger, count, context.Signal, "the export failed (see the previous message)");
        }

        return result;
    }

    protected override bool OnForceFlush(int timeoutMilliseconds) => _inner.ForceFlush(timeoutMilliseconds);

    protected override bool OnShutdown(int timeoutMilliseconds) => _inner.Shutdown(timeoutMilliseconds);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
            _transport.Dispose();
        }

        base.Dispose(disposing);
    }
}
