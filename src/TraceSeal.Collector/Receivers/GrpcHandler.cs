using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using TraceSeal.Collector.Identity;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Receivers;

/// <summary>
/// OTLP/gRPC written by hand: unary Export calls on the three OTLP services, one length-prefixed message,
/// identity or gzip. No gRPC framework: the receiver needs one method shape and full control of limits.
/// Errors are "trailers-only" responses (status in the response headers, no body), as gRPC allows.
/// </summary>
internal static class GrpcHandler
{
    private const string GrpcContentType = "application/grpc";
    private const string GrpcProtoContentType = "application/grpc+proto";

    public static async Task HandleAsync(HttpContext context, ConnectionState state, TenantDecision decision)
    {
        ProtocolListener listener = state.Listener;
        HttpRequest request = context.Request;

        if (!IsGrpcContentType(request.ContentType))
        {
            // The gRPC spec answers non-gRPC content types with plain HTTP 415: the peer may not speak gRPC at all.
            listener.OnRefused(context, ReceiveFailure.UnsupportedMediaType, "content-type must be application/grpc");
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }

        if (!TryGetSignal(request.Path.Value, out OtlpSignal signal))
        {
            Fail(context, listener, ReceiveFailure.UnknownPath, "unknown method; this receiver implements the Export methods of the OTLP trace, metrics and logs services");
            return;
        }

        if (!HttpMethods.IsPost(request.Method))
        {
            Fail(context, listener, ReceiveFailure.MethodNotAllowed, "gRPC calls use POST");
            return;
        }

        ContentCoding coding;
        string? encoding = request.Headers["grpc-encoding"];
        if (string.IsNullOrEmpty(encoding) || string.Equals(encoding, "identity", StringComparison.Ordinal))
        {
            coding = ContentCoding.Identity;
        }
        else if (string.Equals(encoding, "gzip", StringComparison.Ordinal))
        {
            coding = ContentCoding.Gzip;
        }
        else
        {
            context.Response.Headers["grpc-accept-encoding"] = GrpcWire.AcceptEncoding;
            Fail(context, listener, ReceiveFailure.UnsupportedEncoding, "unsupported grpc-encoding; this receiver accepts identity and gzip");
            return;
        }

        if (!decision.Admitted)
        {
            Fail(context, listener, ReceiveFailure.PermissionDenied, decision.Refusal!);
            return;
        }

        TimeSpan? timeout = null;
        string? timeoutHeader = request.Headers["grpc-timeout"];
        if (timeoutHeader is not null)
        {
            if (!GrpcWire.TryParseTimeout(timeoutHeader, out TimeSpan parsed))
            {
                Fail(context, listener, ReceiveFailure.MalformedHeader, "malformed grpc-timeout; write 1-8 digits and a unit H, M, S, m, u or n, e.g. 10S");
                return;
            }

            timeout = parsed;
        }

        if (listener.Guards.Quotas.TryAdmit(decision.Tenant) is { } overQuota)
        {
            Fail(context, listener, ReceiveFailure.TenantQuotaExceeded, overQuota.Message, overQuota.RetryAfter);
            return;
        }

        long limit = listener.Settings.MaxRequestBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            // Our own framing checks enforce the limit precisely; Kestrel's is the backstop.
            sizeFeature.MaxRequestBodySize = limit + GrpcWire.PrefixLength;
        }

        CancellationTokenSource? deadline = null;
        try
        {
            if (timeout is { } after)
            {
                // Capped by TryParseTimeout (GrpcWire.MaxTimeout), so CancelAfter cannot be handed an out-of-range value.
                deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
                deadline.CancelAfter(after);
            }

            CancellationToken token = deadline?.Token ?? context.RequestAborted;
            ExportOutcome outcome = await ReceiveAsync(context, listener, signal, coding, limit, decision, token).ConfigureAwait(false);
            if (outcome.Failure is { } failure)
            {
                Fail(context, listener, failure, outcome.Message!, outcome.RetryAfter);
                return;
            }

            WriteResponse(context, signal);
        }
        catch (OperationCanceledException) when (deadline is not null && deadline.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
        {
            Fail(context, listener, ReceiveFailure.DeadlineExceeded, "grpc-timeout expired before the request was stored");
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to answer.
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            Fail(context, listener, ReceiveFailure.PayloadTooLarge, $"request exceeds the limit of {limit} bytes");
        }
        catch (AdmissionRefusedException)
        {
            // The inflated message outgrew what the budget could still hold; its buffers were released on the way out.
            Fail(context, listener, ReceiveFailure.AdmissionBudgetExhausted, AdmissionBudget.RefusalMessage, AdmissionBudget.RetryAfter);
        }
        finally
        {
            deadline?.Dispose();
        }
    }

    private static async ValueTask<ExportOutcome> ReceiveAsync(HttpContext context, ProtocolListener listener, OtlpSignal signal, ContentCoding coding, long limit, TenantDecision decision, CancellationToken cancellationToken)
    {
        PipeReader reader = context.Request.BodyReader;

        // The prefix first, so an oversized message is refused before any of it is buffered.
        ReadResult result;
        while (true)
        {
            result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.Buffer.Length >= GrpcWire.PrefixLength || result.IsCompleted)
            {
                break;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }

        if (!GrpcWire.TryReadPrefix(result.Buffer, out byte compressed, out uint length))
        {
            reader.AdvanceTo(result.Buffer.End);
            return ExportOutcome.Fail(ReceiveFailure.ProtocolViolation, "a unary call needs exactly one length-prefixed message");
        }

        reader.AdvanceTo(result.Buffer.GetPosition(GrpcWire.PrefixLength));
        if (compressed > 1 || (compressed == 1 && coding == ContentCoding.Identity))
        {
            return ExportOutcome.Fail(ReceiveFailure.ProtocolViolation, "compressed flag set without a grpc-encoding");
        }

        if (length > limit)
        {
            return ExportOutcome.Fail(ReceiveFailure.PayloadTooLarge, $"message of {length} bytes exceeds the limit of {limit} bytes");
        }

        // Admission: the message's bytes are reserved before any of them is read, and held until the sink returned.
        if (!PooledBufferWriter.TryCreate(length, length, listener.Admission, out PooledBufferWriter? message))
        {
            return ExportOutcome.Fail(ReceiveFailure.AdmissionBudgetExhausted, AdmissionBudget.RefusalMessage, AdmissionBudget.RetryAfter);
        }

        using PooledBufferWriter ownedMessage = message; // returned to the pool and released from the budget on every way out
        while (true)
        {
            result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            if (buffer.Length > length - message.WrittenCount)
            {
                reader.AdvanceTo(buffer.End);
                return ExportOutcome.Fail(ReceiveFailure.ProtocolViolation, "more than one message in a unary call");
            }

            foreach (ReadOnlyMemory<byte> segment in buffer)
            {
                message.Write(segment.Span);
            }

            reader.AdvanceTo(buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        if (message.WrittenCount != length)
        {
            return ExportOutcome.Fail(ReceiveFailure.ProtocolViolation, $"truncated message: {message.WrittenCount} of {length} bytes");
        }

        if (compressed == 0)
        {
            return await ExportProcessor.ExportAsync(listener, signal, message.WrittenMemory, decision, cancellationToken).ConfigureAwait(false);
        }

        // The inflated bytes are reserved as they grow (PooledBufferWriter), so a bomb is refused once it does not fit.
        if (!PooledBufferWriter.TryCreate(Math.Min((long)length * 4, limit), limit, listener.Admission, out PooledBufferWriter? inflated))
        {
            return ExportOutcome.Fail(ReceiveFailure.AdmissionBudgetExhausted, AdmissionBudget.RefusalMessage, AdmissionBudget.RetryAfter);
        }

        using PooledBufferWriter ownedInflated = inflated;
        switch (Payloads.Inflate(message.WrittenMemory, coding, inflated, limit, listener.Settings.MaxDecompressionRatio))
        {
            case PayloadResult.TooLarge:
                return ExportOutcome.Fail(ReceiveFailure.PayloadTooLarge, $"decompressed message exceeds the limit of {limit} bytes");
            case PayloadResult.RatioExceeded:
                return ExportOutcome.Fail(ReceiveFailure.DecompressionRatioExceeded, Payloads.RatioMessage(listener.Settings.MaxDecompressionRatio));
            case PayloadResult.Corrupt:
                return ExportOutcome.Fail(ReceiveFailure.MalformedPayload, "message is not valid gzip");
        }

        return await ExportProcessor.ExportAsync(listener, signal, inflated.WrittenMemory, decision, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The response message and its trailers, written but not flushed: Kestrel sends headers, message and trailers
    /// in one write (one TLS record, one send) when the handler returns, where a flush here would cost a second one.
    /// Once the sink accepted, the answer goes out even if the deadline passes meanwhile: the data is stored.
    /// </summary>
    private static void WriteResponse(HttpContext context, OtlpSignal signal)
    {
        HttpResponse response = context.Response;
        response.ContentType = GrpcContentType;
        ReadOnlyMemory<byte> body = OtlpResponses.Protobuf(signal);
        PipeWriter writer = response.BodyWriter;
        Span<byte> span = writer.GetSpan(GrpcWire.PrefixLength + body.Length);
        GrpcWire.WritePrefix(span, body.Length);
        body.Span.CopyTo(span[GrpcWire.PrefixLength..]);
        writer.Advance(GrpcWire.PrefixLength + body.Length);
        response.AppendTrailer("grpc-status", GrpcWire.StatusString(GrpcCodes.Ok));
    }

    /// <summary>A trailers-only response: HTTP 200, grpc-status/grpc-message/grpc-status-details-bin in the headers.</summary>
    private static void Fail(HttpContext context, ProtocolListener listener, ReceiveFailure failure, string message, TimeSpan retryAfter = default)
    {
        listener.OnRefused(context, failure, message);
        FailureStatus status = OtlpStatusTable.Get(failure);
        HttpResponse response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcContentType;
        IHeaderDictionary headers = response.Headers;
        headers["grpc-status"] = GrpcWire.StatusString(status.GrpcCode);
        headers["grpc-message"] = GrpcWire.PercentEncode(message);
        TimeSpan? retryDelay = status.Retryable && retryAfter > TimeSpan.Zero ? retryAfter : null;
        headers["grpc-status-details-bin"] = GrpcWire.EncodeBinaryHeader(RpcStatus.ToProtobuf(status.GrpcCode, message, retryDelay));
    }

    private static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null)
        {
            return false;
        }

        ReadOnlySpan<char> media = contentType.AsSpan();
        int semicolon = media.IndexOf(';');
        if (semicolon >= 0)
        {
            media = media[..semicolon];
        }

        media = media.Trim();
        return media.Equals(GrpcContentType, StringComparison.OrdinalIgnoreCase) || media.Equals(GrpcProtoContentType, StringComparison.OrdinalIgnoreCase);
    }

    private static bool TryGetSignal(string? path, out OtlpSignal signal)
    {
        switch (path)
        {
            case GrpcWire.TraceExport:
                signal = OtlpSignal.Traces;
                return true;
            case GrpcWire.MetricsExport:
                signal = OtlpSignal.Metrics;
                return true;
            case GrpcWire.LogsExport:
                signal = OtlpSignal.Logs;
                return true;
            default:
                signal = default;
                return false;
        }
    }
}
