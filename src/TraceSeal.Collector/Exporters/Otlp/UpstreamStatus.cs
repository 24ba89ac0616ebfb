using System.Net.Http.Headers;
using Google.Rpc;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>Pure parsers for what an upstream says about a failure: gRPC status details, Retry-After, messages.</summary>
internal static class UpstreamStatus
{
    /// <summary>Upstream messages go to our logs; bound them so a hostile upstream cannot flood them.</summary>
    internal const int MaxMessageChars = 256;

    private const string RetryInfoTypeUrlSuffix = "/google.rpc.RetryInfo";

    /// <summary>
    /// grpc-status-details-bin: base64 (padding optional, gRPC spec) of a google.rpc.Status. Returns false when
    /// absent or unreadable; <paramref name="retryDelay"/> is set when a RetryInfo detail is present.
    /// </summary>
    public static bool TryReadDetails(string? base64, out Status? status, out TimeSpan? retryDelay)
    {
        status = null;
        retryDelay = null;
        if (string.IsNullOrEmpty(base64))
        {
            return false;
        }

        try
        {
            string padded = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            status = Status.Parser.ParseFrom(Convert.FromBase64String(padded));
        }
        catch (Exception ex) when (ex is FormatException or Google.Protobuf.InvalidProtocolBufferException)
        {
            return false;
        }

        foreach (Google.Protobuf.WellKnownTypes.Any detail in status.Details)
        {
            if (detail.TypeUrl.EndsWith(RetryInfoTypeUrlSuffix, StringComparison.Ordinal) && detail.TryUnpack(out RetryInfo info))
            {
                TimeSpan delay = info.RetryDelay?.ToTimeSpan() ?? TimeSpan.Zero;
                retryDelay = delay < TimeSpan.Zero ? TimeSpan.Zero : delay;
            }
        }

        return true;
    }

    /// <summary>Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3); a date in the past means now.</summary>
    public static TimeSpan? RetryAfter(RetryConditionHeaderValue? header, DateTimeOffset now)
    {
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header?.Date is { } date)
        {
            TimeSpan wait = date - now;
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    /// <summary>gRPC spec (http-grpc-status-mapping.md): the code implied by an HTTP status when no grpc-status came.</summary>
    public static int GrpcCodeFromHttpStatus(int httpStatus) => httpStatus switch
    {
        400 => GrpcCodes.Internal,
        401 => GrpcCodes.Unauthenticated,
        403 => GrpcCodes.PermissionDenied,
        404 => GrpcCodes.Unimplemented,
        429 or 502 or 503 or 504 => GrpcCodes.Unavailable,
        _ => GrpcCodes.Unknown,
    };

    public static string Truncate(string? message)
    {
        if (string.IsNullOrEmpty(message))
        {
            return string.Empty;
        }

        // Control characters would let an upstream forge log lines.
        string clean = string.Create(Math.Min(message.Length, MaxMessageChars), message, static (span, source) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? ' ' : source[i];
            }
        });

        return message.Length > MaxMessageChars ? clean + "…" : clean;
    }
}
