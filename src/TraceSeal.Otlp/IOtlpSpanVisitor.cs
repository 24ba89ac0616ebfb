namespace TraceSeal.Otlp;

/// <summary>
/// Called by <see cref="OtlpValidator"/> while it reads a trace request, so callers can index without a second pass.
/// Implement on a struct: the validator is generic over it, so calls are not boxed or virtual.
/// The spans passed in point into the request buffer and are only valid during the call.
/// </summary>
public interface IOtlpSpanVisitor
{
    /// <summary>service.name of each ResourceSpans (empty if absent). Called before that resource's spans.</summary>
    void OnResource(ReadOnlySpan<byte> serviceNameUtf8);

    /// <summary>One span, after its fields were validated.</summary>
    void OnSpan(ReadOnlySpan<byte> traceId, ReadOnlySpan<byte> spanId, ulong startTimeUnixNano, ulong endTimeUnixNano, ReadOnlySpan<byte> nameUtf8);
}
