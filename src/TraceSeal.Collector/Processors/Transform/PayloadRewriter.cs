using System.Buffers;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Processors.Transform;

/// <summary>
/// Applies a pipeline's <see cref="ITelemetryTransform"/>s to a batch: decode once, every transform in config
/// order, encode once into a pooled buffer, validate the result with the receivers' validator. Only pipelines that
/// list such a processor have a rewriter, so only they pay for decoding and re-encoding.
/// </summary>
/// <remarks>
/// The rewritten batch has no <see cref="ReceivedBatch.Index"/>: the receiver gathered it from the bytes as received
/// (service names may have changed since), and the sealed store indexes a batch without one itself. When no transform
/// changed anything the received batch goes on untouched, bytes and index included.
/// Admission processors (`memory_limiter`, `batch`) never look at the payload, so running every admission check
/// before every transform decides exactly what running them interleaved in config order would.
/// </remarks>
internal sealed class PayloadRewriter
{
    private readonly ITelemetryTransform[] _transforms;

    private PayloadRewriter(ITelemetryTransform[] transforms) => _transforms = transforms;

    /// <summary>Null when none of <paramref name="processors"/> changes telemetry: the pipeline then never decodes.</summary>
    public static PayloadRewriter? For(IEnumerable<IProcessor> processors)
    {
        var transforms = processors.OfType<ITelemetryTransform>().ToArray();
        return transforms.Length == 0 ? null : new PayloadRewriter(transforms);
    }

    /// <summary>
    /// The batch as the transforms leave it. Dispose the result once every exporter has returned: it owns the pooled
    /// buffer of the new payload. Throws (fail closed: nothing unprocessed goes on) when the request cannot be decoded
    /// or the re-encoded request does not validate.
    /// </summary>
    public RewrittenBatch Rewrite(ReceivedBatch batch)
    {
        IMessage request = Decode(batch.Signal, batch.Payload);
        bool changed = false;
        var context = new TransformContext(batch.Identity, batch.Tenant);
        foreach (var transform in _transforms)
        {
            changed |= transform.Apply(request, context);
        }

        if (!changed)
        {
            return new RewrittenBatch(batch, null);
        }

        int size = request.CalculateSize();
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
        try
        {
            request.WriteTo(buffer.AsSpan(0, size));
            if (!OtlpValidator.TryValidate(buffer.AsSpan(0, size), batch.Signal, out var summary, out var error))
            {
                throw new InvalidOperationException($"a processor produced an invalid request ({error.Message}); this is a TraceSeal bug");
            }

            return new RewrittenBatch(batch with { Payload = buffer.AsMemory(0, size), ItemCount = summary.ItemCount, Index = null }, buffer);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>The generated message of <paramref name="signal"/>'s export request, parsed from validated protobuf bytes.</summary>
    public static IMessage Decode(OtlpSignal signal, ReadOnlyMemory<byte> payload) => signal switch
    {
        OtlpSignal.Traces => ExportTraceServiceRequest.Parser.ParseFrom(payload.Span),
        OtlpSignal.Metrics => ExportMetricsServiceRequest.Parser.ParseFrom(payload.Span),
        _ => ExportLogsServiceRequest.Parser.ParseFrom(payload.Span),
    };
}

/// <summary>A batch and, when it was rewritten, the pooled buffer its payload lives in (returned by <see cref="Dispose"/>).</summary>
internal readonly struct RewrittenBatch(ReceivedBatch batch, byte[]? rented) : IDisposable
{
    public ReceivedBatch Batch { get; } = batch;

    /// <summary>False when no transform changed anything: <see cref="Batch"/> is the received batch itself.</summary>
    public bool Rewritten => rented is not null;

    public void Dispose()
    {
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
