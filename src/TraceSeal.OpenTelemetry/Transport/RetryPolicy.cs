using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace TraceSeal.OpenTelemetry.Transport;

/// <summary>What to do after one export attempt.</summary>
internal readonly record struct RetryDecision(bool Done, bool Retry, TimeSpan? ServerDelay, string Reason)
{
    public static RetryDecision Success => new(true, false, null, "ok");

    public static RetryDecision Permanent(string reason) => new(false, false, null, reason);

    public static RetryDecision Transient(string reason, TimeSpan? serverDelay = null) => new(false, true, serverDelay, reason);
}

/// <summary>
/// The one table of what is retried, from the OTLP specification (protocol/otlp.md "Failures" and
/// protocol/exporter.md "Retry"):
/// <list type="bullet">
/// <item>gRPC: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS are retryable;
/// RESOURCE_EXHAUSTED only when the server sent RetryInfo (it can recover); everything else is permanent.
/// A RetryInfo delay in grpc-status-details-bin is honoured.</item>
/// <item>HTTP: 429, 502, 503, 504 are retryable, honouring Retry-After (seconds or HTTP date); every other
/// non-2xx is permanent.</item>
/// <item>A 2xx / OK response is final even when it reports partial success: the rejected items were refused
/// on purpose and sending them again cannot help.</item>
/// </list>
/// </summary>
internal static class RetryPolicy
{
    // gRPC status codes (grpc/doc/statuscodes.md).
    internal const int GrpcOk = 0;
    internal const int GrpcCancelled = 1;
    internal const int GrpcDeadlineExceeded = 4;
    internal const int GrpcResourceExhausted = 8;
    internal const int GrpcAborted = 10;
    internal const int GrpcOutOfRange = 11;
    internal const int GrpcUnavailable = 14;
    internal const int GrpcDataLoss = 15;

    private const string RetryInfoTypeUrl = "type.googleapis.com/google.rpc.RetryInfo";

    public static bool IsGrpc(HttpRequestMessage request) =>
        request.Content?.Headers.ContentType?.MediaType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;

    public static RetryDecision ClassifyHttp(HttpResponseMessage response)
    {
        int code = (int)response.StatusCode;
        if (code is >= 200 and < 300)
        {
            return RetryDecision.Success;
        }

        return code is 429 or 502 or 503 or 504
            ? RetryDecision.Transient("HTTP " + code, RetryAfter(response.Headers.RetryAfter))
            : RetryDecision.Permanent("HTTP " + code);
    }

    /// <summary>Needs the trailers: call after the response body has been read (buffered).</summary>
    public static RetryDecision ClassifyGrpc(HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            // gRPC over HTTP/2 mapping (grpc/doc/http-grpc-status-mapping.md): 429, 502, 503, 504 → UNAVAILABLE.
            int http = (int)response.StatusCode;
            return http is 429 or 502 or 503 or 504
                ? RetryDecision.Transient($"HTTP {http} (UNAVAILABLE)", RetryAfter(response.Headers.RetryAfter))
                : RetryDecision.Permanent($"HTTP {http}");
        }

        string? statusText = Header(response.TrailingHeaders, "grpc-status") ?? Header(response.Headers, "grpc-status");
        if (statusText is null || !int.TryParse(statusText, NumberStyles.None, CultureInfo.InvariantCulture, out int status))
        {
            return RetryDecision.Permanent("response without grpc-status");
        }

        if (status == GrpcOk)
        {
            return RetryDecision.Success;
        }

        string details = Header(response.TrailingHeaders, "grpc-status-details-bin") ?? Header(response.Headers, "grpc-status-details-bin") ?? string.Empty;
        TimeSpan? retryInfo = TryParseRetryInfo(details);
        string reason = "gRPC " + GrpcName(status);
        return status switch
        {
            GrpcCancelled or GrpcDeadlineExceeded or GrpcAborted or GrpcOutOfRange or GrpcUnavailable or GrpcDataLoss => RetryDecision.Transient(reason, retryInfo),
            GrpcResourceExhausted when retryInfo is not null => RetryDecision.Transient(reason, retryInfo),
            _ => RetryDecision.Permanent(reason),
        };
    }

    /// <summary>Exponential backoff with jitter: initial × 1.5^(retry-1), capped, then scaled by [0.5, 1).</summary>
    public static TimeSpan Backoff(int retry, TimeSpan initial, TimeSpan max, double jitter)
    {
        double ms = initial.TotalMilliseconds * Math.Pow(1.5, Math.Max(0, retry - 1));
        ms = Math.Min(ms, max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ms * (0.5 + (jitter * 0.5)));
    }

    internal static TimeSpan? RetryAfter(RetryConditionHeaderValue? value)
    {
        if (value?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (value?.Date is { } date)
        {
            TimeSpan wait = date - DateTimeOffset.UtcNow;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    /// <summary>
    /// grpc-status-details-bin is a base64 google.rpc.Status: field 3 repeated google.protobuf.Any
    /// {1: type_url, 2: value}; a RetryInfo value is {1: google.protobuf.Duration {1: seconds, 2: nanos}}.
    /// </summary>
    internal static TimeSpan? TryParseRetryInfo(string base64)
    {
        if (string.IsNullOrEmpty(base64))
        {
            return null;
        }

        byte[] status;
        try
        {
            // gRPC may omit the padding.
            string padded = base64.Length % 4 == 0 ? base64 : base64 + new string('=', 4 - (base64.Length % 4));
            status = Convert.FromBase64String(padded);
        }
        catch (FormatException)
        {
            return null;
        }

        var reader = new ProtoReader(status);
        while (reader.TryNext(out int field, out ReadOnlySpan<byte> bytes, out _))
        {
            if (field != 3)
            {
                continue;
            }

            var any = new ProtoReader(bytes);
            string? typeUrl = null;
            ReadOnlySpan<byte> value = default;
            while (any.TryNext(out int anyField, out ReadOnlySpan<byte> anyBytes, out _))
            {
                if (anyField == 1)
                {
                    typeUrl = System.Text.Encoding.UTF8.GetString(anyBytes);
                }
                else if (anyField == 2)
                {
                    value = anyBytes;
                }
            }

            if (typeUrl != RetryInfoTypeUrl)
            {
                continue;
            }

            var retryInfo = new ProtoReader(value);
            while (retryInfo.TryNext(out int riField, out ReadOnlySpan<byte> duration, out _))
            {
                if (riField != 1)
                {
                    continue;
                }

                long seconds = 0;
                long nanos = 0;
                var d = new ProtoReader(duration);
                while (d.TryNext(out int dField, out _, out ulong varint))
                {
                    if (dField == 1)
                    {
                        seconds = (long)varint;
                    }
                    else if (dField == 2)
                    {
                        nanos = (long)varint;
                    }
                }

                if (seconds < 0 || nanos < 0 || seconds > 3600)
                {
                    return null;
                }

                return TimeSpan.FromSeconds(seconds) + TimeSpan.FromTicks(nanos / 100);
            }
        }

        return null;
    }

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out IEnumerable<string>? values) ? values.FirstOrDefault() : null;

    private static string GrpcName(int status) => status switch
    {
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => status.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Just enough protobuf to walk fields: varint (wire type 0) and length-delimited (2); others are skipped.</summary>
    private ref struct ProtoReader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _data = data;

        public bool TryNext(out int field, out ReadOnlySpan<byte> bytes, out ulong varint)
        {
            field = 0;
            bytes = default;
            varint = 0;
            if (_data.IsEmpty || !TryVarint(out ulong tag))
            {
                return false;
            }

            field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    return TryVarint(out varint);
                case 1:
                    return Skip(8);
                case 2:
                    if (!TryVarint(out ulong length) || length > (ulong)_data.Length)
                    {
                        return false;
                    }

                    bytes = _data[..(int)length];
                    _data = _data[(int)length..];
                    return true;
                case 5:
                    return Skip(4);
                default:
                    return false;
            }
        }

        private bool Skip(int count)
        {
            if (_data.Length < count)
            {
                return false;
            }

            _data = _data[count..];
            return true;
        }

        private bool TryVarint(out ulong value)
        {
            value = 0;
            for (int shift = 0, i = 0; shift < 64; shift += 7, i++)
            {
                if ((uint)i >= (uint)_data.Length)
                {
                    return false;
                }

                byte b = _data[i];
                value |= (ulong)(b & 0x7f) << shift;
                if ((b & 0x80) == 0)
                {
                    _data = _data[(i + 1)..];
                    return true;
                }
            }

            return false;
        }
    }
}
