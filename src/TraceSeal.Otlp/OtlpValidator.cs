using TraceSeal.Otlp.Validation;

namespace TraceSeal.Otlp;

/// <summary>
/// Zero-copy, allocation-free validation of OTLP export requests in protobuf encoding
/// (ExportTraceServiceRequest, ExportMetricsServiceRequest, ExportLogsServiceRequest).
/// </summary>
/// <remarks>
/// Checks: well-formed tags, varints (≤ 10 bytes), lengths within the enclosing message, fixed sizes;
/// the wire type of every known field; unknown fields are skipped (groups are refused: OTLP has none);
/// UTF-8 of every <c>string</c> field; span trace_id (16 bytes) and span_id (8 bytes) present and not all
/// zero; parent_span_id empty or 8 bytes; link, exemplar and log record ids empty or 16/8 bytes;
/// AnyValue nesting at most <see cref="MaxAnyValueDepth"/> levels. Allocates only to build the error.
/// Summary time range: span start/end; data point start (or time)/time; log record time (or observed time).
/// </remarks>
public static class OtlpValidator
{
    /// <summary>Most nested AnyValue levels (array_value / kvlist_value) accepted; a top-level attribute value is level 1.</summary>
    public const int MaxAnyValueDepth = CommonValidator.MaxAnyValueDepth;

    public static bool TryValidate(ReadOnlySpan<byte> message, OtlpSignal signal, out OtlpSummary summary, out OtlpError error)
    {
        var visitor = default(NoOpVisitor);
        return TryValidate(message, signal, ref visitor, out summary, out error);
    }

    public static bool TryValidate<TVisitor>(ReadOnlySpan<byte> message, OtlpSignal signal, ref TVisitor visitor, out OtlpSummary summary, out OtlpError error)
        where TVisitor : struct, IOtlpSpanVisitor
    {
        var builder = default(SummaryBuilder);
        var failure = default(WireFailure);
        bool ok = signal switch
        {
            OtlpSignal.Traces => TraceValidator.ReadRequest(message, ref visitor, ref builder, ref failure),
            OtlpSignal.Metrics => MetricsValidator.ReadRequest(message, ref builder, ref failure),
            OtlpSignal.Logs => LogsValidator.ReadRequest(message, ref builder, ref failure),
            _ => failure.Fail("unknown_signal", "signal", "not traces, metrics or logs", 0),
        };

        if (!ok)
        {
            summary = default;
            error = failure.ToError();
            return false;
        }

        summary = builder.ToSummary();
        error = default;
        return true;
    }

    private struct NoOpVisitor : IOtlpSpanVisitor
    {
        public readonly void OnResource(ReadOnlySpan<byte> serviceNameUtf8)
        {
        }

        public readonly void OnSpan(ReadOnlySpan<byte> traceId, ReadOnlySpan<byte> spanId, ulong startTimeUnixNano, ulong endTimeUnixNano, ReadOnlySpan<byte> nameUtf8)
        {
        }
    }
}
