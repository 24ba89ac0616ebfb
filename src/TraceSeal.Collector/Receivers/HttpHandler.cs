using System.Buffers;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Identity;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Receivers;

/// <summary>
/// OTLP/HTTP (https://opentelemetry.io/docs/specs/otlp/#otlphttp): POST /v1/{traces,metrics,logs},
/// binary protobuf or JSON, optionally gzip/deflate. Responses and errors use the request's encoding.
/// </summary>
internal static class HttpHandler
{
    private const string ProtobufContentType = "application/x-protobuf";
    private const string JsonContentType = "application/json";
    private const string PlainTextContentType = "text/plain; charset=utf-8";

    public static async Task HandleAsync(HttpContext context, ConnectionState state, TenantDecision decision)
    {
        ProtocolListener listener = state.Listener;
        HttpRequest request = context.Request;
        HttpResponse response = context.Response;

        if (!TryGetSignal(request.Path.Value, out OtlpSignal signal))
        {
            await FailPlainAsync(context, listener, ReceiveFailure.UnknownPath, "unknown path; OTLP/HTTP accepts /v1/traces, /v1/metrics and /v1/logs").ConfigureAwait(false);
            return;
        }

        if (!HttpMethods.IsPost(request.Method))
        {
            response.Headers.Allow = "POST";
            await FailPlainAsync(context, listener, ReceiveFailure.MethodNotAllowed, "OTLP/HTTP accepts POST only").ConfigureAwait(false);
            return;
        }

        if (!TryGetFormat(request.ContentType, out bool json))
        {
            await FailPlainAsync(context, listener, ReceiveFailure.UnsupportedMediaType, "unsupported Content-Type; OTLP/HTTP accepts application/x-protobuf or application/json").ConfigureAwait(false);
            return;
        }

        if (!TryGetCoding(request.Headers.ContentEncoding, out ContentCoding coding))
        {
            await FailAsync(context, listener, json, ReceiveFailure.UnsupportedEncoding, "unsupported Content-Encoding; use gzip, deflate or none").ConfigureAwait(false);
            return;
        }

        if (!decision.Admitted)
        {
            await FailAsync(context, listener, json, ReceiveFailure.PermissionDenied, decision.Refusal!).ConfigureAwait(false);
            return;
        }

        if (listener.Guards.Quotas.TryAdmit(decision.Tenant) is { } overQuota)
        {
            await FailAsync(context, listener, json, ReceiveFailure.TenantQuotaExceeded, overQuota.Message, overQuota.RetryAfter).ConfigureAwait(false);
            return;
        }

        long limit = listener.Settings.MaxRequestBytes;
        if (request.ContentLength > limit)
        {
            await FailAsync(context, listener, json, ReceiveFailure.PayloadTooLarge, $"Content-Length {request.ContentLength} exceeds the limit of {limit} bytes").ConfigureAwait(false);
            return;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            // Our own read enforces the limit precisely (limit + 1 lets it see the excess); Kestrel's is the backstop.
            sizeFeature.MaxRequestBodySize = limit + 1;
        }

        ExportOutcome outcome;
        try
        {
            outcome = await ReceiveAsync(context, listener, signal, json, coding, limit, decision).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return; // the client went away
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            outcome = ExportOutcome.Fail(ReceiveFailure.PayloadTooLarge, $"request body exceeds the limit of {limit} bytes");
        }
        catch (AdmissionRefusedException)
        {
            // A body arriving without Content-Length, or being inflated or transcoded, outgrew what the budget could
            // still hold; its buffers were released on the way out.
            outcome = ExportOutcome.Fail(ReceiveFailure.AdmissionBudgetExhausted, AdmissionBudget.RefusalMessage, AdmissionBudget.RetryAfter);
        }

        if (outcome.Failure is { } failure)
        {
            await FailAsync(context, listener, json, failure, outcome.Message!, outcome.RetryAfter).ConfigureAwait(false);
            return;
        }

        ReadOnlyMemory<byte> body = json ? OtlpResponses.Json(signal) : OtlpResponses.Protobuf(signal);
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = json ? JsonContentType : ProtobufContentType;
        response.ContentLength = body.Length;

        // Written, not flushed: Kestrel sends headers, body and the end of the stream in one write (one TLS record,
        // one send) when the handler returns; a flush here would send the end of the stream in a second one.
        response.BodyWriter.Write(body.Span);
    }

    private static async ValueTask<ExportOutcome> ReceiveAsync(HttpContext context, ProtocolListener listener, OtlpSignal signal, bool json, ContentCoding coding, long limit, TenantDecision decision)
    {
        CancellationToken cancellationToken = context.RequestAborted;
        AdmissionBudget admission = listener.Admission;

        // Admission: Content-Length is reserved before any of the body is read; without one (chunked HTTP/1.1, HTTP/2
        // without content-length) the body is reserved as it arrives. Everything is held until the sink returned.
        if (!PooledBufferWriter.TryCreate(context.Request.ContentLength ?? 0, limit, admission, out PooledBufferWriter? body))
        {
            return ExportOutcome.Fail(ReceiveFailure.AdmissionBudgetExhausted, AdmissionBudget.RefusalMessage, AdmissionBudget.RetryAfter);
        }

        using PooledBufferWriter ownedBody = body; // returned to the pool and released from the budget on every way out
        if (await Payloads.ReadBodyAsync(context.Request.BodyReader, body, limit, cancellationToken).ConfigureAwait(false) == PayloadResult.TooLarge)
        {
            return ExportOutcome.Fail(ReceiveFailure.PayloadTooLarge, $"request body exceeds the limit of {limit} bytes");
        }

        PooledBufferWriter? inflated = null;
        PooledBufferWriter? transcoded = null;
        try
        {
            ReadOnlyMemory<byte> payload = body.WrittenMemory;
            if (coding != ContentCoding.Identity && !payload.IsEmpty)
            {
                // The inflated bytes are reserved as they grow, so a bomb is refused as soon as it does not fit.
                if (!PooledBufferWriter.TryCreate(Math.Min((long)payload.Length * 4, limit), limit, admission, out inflated))
                {
                    return ExportOutcome.Fail(ReceiveFailure.AdmissionBudgetExhausted, AdmissionBudget.RefusalMessage, AdmissionBudget.RetryAfter);
                }

                switch (Payloads.Inflate(payload, coding, inflated, limit, listener.Settings.MaxDecompressionRatio))
                {
                    case PayloadResult.TooLarge:
                        return ExportOutcome.Fail(ReceiveFailure.PayloadTooLarge, $"decompressed body exceeds the limit of {limit} bytes");
                    case PayloadResult.RatioExceeded:
                        return ExportOutcome.Fail(ReceiveFailure.DecompressionRatioExceeded, Payloads.RatioMessage(listener.Settings.MaxDecompressionRatio));
                    case PayloadResult.Corrupt:
                        return ExportOutcome.Fail(ReceiveFailure.MalformedPayload, coding == ContentCoding.Gzip ? "body is not valid gzip" : "body is not valid deflate (zlib)");
                }

                payload = inflated.WrittenMemory;
            }

            if (json && !payload.IsEmpty)
            {
                // The transcoder's scratch copies are held only while it runs; its output buffer until the sink returned.
                long scratch = (long)AdmissionSettings.TranscodeScratchPerByte * payload.Length;
                if (!admission.TryReserve(scratch))
                {
                    return ExportOutcome.Fail(ReceiveFailure.AdmissionBudgetExhausted, AdmissionBudget.RefusalMessage, AdmissionBudget.RetryAfter);
                }

                OtlpError error;
                bool converted;
                try
                {
                    if (!PooledBufferWriter.TryCreate(payload.Length, limit, admission, out transcoded))
                    {
                        return ExportOutcome.Fail(ReceiveFailure.AdmissionBudgetExhausted, AdmissionBudget.RefusalMessage, AdmissionBudget.RetryAfter);
                    }

                    converted = OtlpJson.TryToProtobuf(payload.Span, signal, transcoded, out error);
                }
                catch (PayloadTooLargeException)
                {
                    return ExportOutcome.Fail(ReceiveFailure.PayloadTooLarge, $"request exceeds the limit of {limit} bytes once transcoded");
                }
                catch (Exception ex) when (ex is not OperationCanceledException and not AdmissionRefusedException)
                {
                    // The decoder is meant to report every malformed input as an OtlpError; if hostile input still
                    // finds an exception, it is the client's fault (400), counted, logged at Debug like any other
                    // malformed payload — not a 500 with a stack trace at Error that a client could repeat at will.
                    return ExportOutcome.Fail(ReceiveFailure.MalformedPayload, "malformed OTLP/JSON");
                }
                finally
                {
                    admission.Release(scratch);
                }

                if (!converted)
                {
                    return ExportOutcome.Fail(ReceiveFailure.MalformedPayload, error.Message);
                }

                payload = transcoded.WrittenMemory;
            }

            return await ExportProcessor.ExportAsync(listener, signal, payload, decision, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            inflated?.Dispose();
            transcoded?.Dispose();
        }
    }

    /// <summary>An error as google.rpc.Status in the request's encoding (OTLP/HTTP "Failures").</summary>
    private static async Task FailAsync(HttpContext context, ProtocolListener listener, bool json, ReceiveFailure failure, string message, TimeSpan retryAfter = default)
    {
        listener.OnRefused(context, failure, message);
        FailureStatus status = OtlpStatusTable.Get(failure);
        HttpResponse response = context.Response;
        TimeSpan? retryDelay = null;
        if (status.Retryable && retryAfter > TimeSpan.Zero)
        {
            retryDelay = retryAfter;
            response.Headers.RetryAfter = ((long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        byte[] body = json ? RpcStatus.ToJson(status.GrpcCode, message, retryDelay) : RpcStatus.ToProtobuf(status.GrpcCode, message, retryDelay);
        response.StatusCode = status.HttpStatus;
        response.ContentType = json ? JsonContentType : ProtobufContentType;
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Errors found before the encoding is known are plain text.</summary>
    private static async Task FailPlainAsync(HttpContext context, ProtocolListener listener, ReceiveFailure failure, string message)
    {
        listener.OnRefused(context, failure, message);
        HttpResponse response = context.Response;
        response.StatusCode = OtlpStatusTable.Get(failure).HttpStatus;
        response.ContentType = PlainTextContentType;
        await response.WriteAsync(message, context.RequestAborted).ConfigureAwait(false);
    }

    private static bool TryGetSignal(string? path, out OtlpSignal signal)
    {
        switch (path)
        {
            case "/v1/traces":
                signal = OtlpSignal.Traces;
                return true;
            case "/v1/metrics":
                signal = OtlpSignal.Metrics;
                return true;
            case "/v1/logs":
                signal = OtlpSignal.Logs;
                return true;
            default:
                signal = default;
                return false;
        }
    }

    private static bool TryGetFormat(string? contentType, out bool json)
    {
        json = false;
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
        if (media.Equals(ProtobufContentType, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        json = media.Equals(JsonContentType, StringComparison.OrdinalIgnoreCase);
        return json;
    }

    private static bool TryGetCoding(string? contentEncoding, out ContentCoding coding)
    {
        ReadOnlySpan<char> value = contentEncoding.AsSpan().Trim();
        if (value.IsEmpty || value.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            coding = ContentCoding.Identity;
            return true;
        }

        if (value.Equals("gzip", StringComparison.OrdinalIgnoreCase))
        {
            coding = ContentCoding.Gzip;
            return true;
        }

        if (value.Equals("deflate", StringComparison.OrdinalIgnoreCase))
        {
            coding = ContentCoding.Deflate;
            return true;
        }

        coding = ContentCoding.Identity;
        return false;
    }
}
