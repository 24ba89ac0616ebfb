using TraceSeal.Collector.Config;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>What to do after one attempt.</summary>
internal enum RetryDecision
{
    /// <summary>Delivered (possibly with partial success, which is final too).</summary>
    Done,

    /// <summary>Send the same request again after a backoff.</summary>
    Retry,

    /// <summary>Retrying cannot help (the request itself was refused): drop it and count it as failed.</summary>
    Permanent,
}

/// <summary>
/// THE retry table of the forwarding exporters, per the OTLP specification (protocol/exporter.md "Retry"
/// and otlp.md "Failures"). Pure, so the whole table has a unit test.
/// </summary>
internal static class RetryClassifier
{
    /// <summary>
    /// Classifies one attempt.
    /// <list type="bullet">
    /// <item>gRPC: OK is done; CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS are
    /// retryable; RESOURCE_EXHAUSTED only when the server sent RetryInfo (it says the limit is temporary);
    /// every other code is permanent.</item>
    /// <item>HTTP: 2xx is done; 429, 502, 503 and 504 are retryable; every other status (400, 413, ...) is permanent.</item>
    /// <item>No response at all (<paramref name="code"/> null: connection refused, reset, TLS failure, attempt
    /// timeout) is retryable: the server never said the request was bad.</item>
    /// </list>
    /// </summary>
    /// <param name="protocol">Which table <paramref name="code"/> belongs to.</param>
    /// <param name="code">grpc-status, or the HTTP status code; null when no response arrived.</param>
    /// <param name="hasRetryInfo">grpc-status-details-bin carried google.rpc.RetryInfo.</param>
    public static RetryDecision Classify(OtlpExporterProtocol protocol, int? code, bool hasRetryInfo)
    {
        if (code is not { } c)
        {
            return RetryDecision.Retry;
        }

        if (protocol == OtlpExporterProtocol.Grpc)
        {
            return c switch
            {
                GrpcCodes.Ok => RetryDecision.Done,
                GrpcCodes.Cancelled or GrpcCodes.DeadlineExceeded or GrpcCodes.Aborted or GrpcCodes.OutOfRange
                    or GrpcCodes.Unavailable or GrpcCodes.DataLoss => RetryDecision.Retry,
                GrpcCodes.ResourceExhausted => hasRetryInfo ? RetryDecision.Retry : RetryDecision.Permanent,
                _ => RetryDecision.Permanent,
            };
        }

        return c switch
        {
            >= 200 and < 300 => RetryDecision.Done,
            429 or 502 or 503 or 504 => RetryDecision.Retry,
            _ => RetryDecision.Permanent,
        };
    }
}
