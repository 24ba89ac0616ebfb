using System.IO.Compression;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>One OTLP transport: how a request is framed and sent, and how its response is read.</summary>
internal abstract class ExportWire(OtlpTarget target, OtlpExporterHeaders headers, bool gzip)
{
    /// <summary>Responses are small (an empty message or a status); a bigger one is not an OTLP server.</summary>
    internal const int MaxResponseBytes = 64 * 1024;

    protected OtlpTarget Target { get; } = target;

    protected bool Gzip { get; } = gzip;

    /// <summary>The bytes sent on every attempt (compressed and framed once, not per retry).</summary>
    public abstract byte[] PrepareBody(ReadOnlySpan<byte> payload);

    public abstract HttpRequestMessage CreateRequest(OtlpSignal signal, byte[] body, TimeSpan attemptTimeout);

    /// <summary>Reads the whole response (gRPC trailers arrive only after the body).</summary>
    public abstract Task<AttemptResult> ReadAsync(HttpResponseMessage response, OtlpSignal signal, CancellationToken cancellationToken);

    protected void AddHeaders(HttpRequestMessage request) => headers.ApplyTo(request);

    protected static byte[] Compress(ReadOnlySpan<byte> payload, int reserve)
    {
        using var output = new MemoryStream(reserve + (payload.Length / 4) + 64);
        output.SetLength(reserve);
        output.Position = reserve;
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(payload);
        }

        return output.ToArray();
    }

    /// <summary>Reads at most <see cref="MaxResponseBytes"/>; returns null when the body is larger.</summary>
    protected static async Task<byte[]?> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        Stream stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            byte[] chunk = new byte[4096];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > MaxResponseBytes)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
    }

    /// <summary>partial_success of an Export*ServiceResponse: (rejected items, error message); (0, "") when absent or unreadable.</summary>
    protected static (long Rejected, string Message) ReadPartialSuccess(OtlpSignal signal, ReadOnlySpan<byte> message)
    {
        if (message.IsEmpty)
        {
            return (0, string.Empty);
        }

        try
        {
            return signal switch
            {
                OtlpSignal.Traces => ExportTraceServiceResponse.Parser.ParseFrom(message) is { PartialSuccess: { } p } ? (p.RejectedSpans, p.ErrorMessage) : (0, string.Empty),
                OtlpSignal.Metrics => ExportMetricsServiceResponse.Parser.ParseFrom(message) is { PartialSuccess: { } p } ? (p.RejectedDataPoints, p.ErrorMessage) : (0, string.Empty),
                _ => ExportLogsServiceResponse.Parser.ParseFrom(message) is { PartialSuccess: { } p } ? (p.RejectedLogRecords, p.ErrorMessage) : (0, string.Empty),
            };
        }
        catch (InvalidProtocolBufferException)
        {
            // The upstream accepted the request; an unreadable body does not undo that.
            return (0, string.Empty);
        }
    }
}
