using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace TraceSeal.Otlp;

/// <summary>
/// Export{Trace,Metrics,Logs}ServiceResponse bodies. Full success is an empty message (protobuf: zero bytes,
/// JSON: <c>{}</c>) and is cached; partial success carries rejected item count and message
/// (OTLP spec "Partial Success").
/// </summary>
public static class OtlpResponses
{
    private static readonly ReadOnlyMemory<byte> EmptyJson = "{}"u8.ToArray();

    public static ReadOnlyMemory<byte> Protobuf(OtlpSignal signal, long rejectedItems = 0, string? errorMessage = null)
        => IsFullSuccess(rejectedItems, errorMessage) ? ReadOnlyMemory<byte>.Empty : Build(signal, rejectedItems, errorMessage).ToByteArray();

    public static ReadOnlyMemory<byte> Json(OtlpSignal signal, long rejectedItems = 0, string? errorMessage = null)
        => IsFullSuccess(rejectedItems, errorMessage)
            ? EmptyJson
            : System.Text.Encoding.UTF8.GetBytes(JsonFormatter.Default.Format(Build(signal, rejectedItems, errorMessage)));

    private static bool IsFullSuccess(long rejectedItems, string? errorMessage) => rejectedItems == 0 && string.IsNullOrEmpty(errorMessage);

    private static IMessage Build(OtlpSignal signal, long rejectedItems, string? errorMessage)
    {
        string message = errorMessage ?? string.Empty;
        return signal switch
        {
            OtlpSignal.Traces => new ExportTraceServiceResponse { PartialSuccess = new() { RejectedSpans = rejectedItems, ErrorMessage = message } },
            OtlpSignal.Metrics => new ExportMetricsServiceResponse { PartialSuccess = new() { RejectedDataPoints = rejectedItems, ErrorMessage = message } },
            OtlpSignal.Logs => new ExportLogsServiceResponse { PartialSuccess = new() { RejectedLogRecords = rejectedItems, ErrorMessage = message } },
            _ => throw new ArgumentOutOfRangeException(nameof(signal)),
        };
    }
}
