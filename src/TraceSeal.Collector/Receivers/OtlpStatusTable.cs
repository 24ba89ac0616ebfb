using TraceSeal.Otlp;

namespace TraceSeal.Collector.Receivers;

/// <summary>Every way a receiver refuses a request. Values index <see cref="OtlpStatusTable"/>: append only.</summary>
internal enum ReceiveFailure
{
    MalformedPayload = 0,
    PayloadTooLarge = 1,
    UnsupportedMediaType = 2,
    UnsupportedEncoding = 3,
    MethodNotAllowed = 4,
    UnknownPath = 5,
    PermissionDenied = 6,
    SinkRefused = 7,
    SinkFailed = 8,
    DeadlineExceeded = 9,
    ProtocolViolation = 10,
    SignalNotServed = 11,
    AdmissionBudgetExhausted = 12,
    MalformedHeader = 13,
    DecompressionRatioExceeded = 14,
    TenantQuotaExceeded = 15,
}

/// <summary>How a failure is reported on each protocol.</summary>
/// <param name="GrpcCode">grpc-status.</param>
/// <param name="HttpStatus">OTLP/HTTP status code.</param>
/// <param name="Retryable">Whether an OTLP client may send the same request again (OTLP spec, "Failures").</param>
/// <param name="Label">Stable snake_case counter label.</param>
internal readonly record struct FailureStatus(int GrpcCode, int HttpStatus, bool Retryable, string Label);

/// <summary>
/// THE mapping of receiver failures to gRPC codes and HTTP statuses (one table, as upstream's
/// internal/errors). Retryable rows are exactly the ones the OTLP spec lets clients retry: UNAVAILABLE /
/// 503 (with RetryInfo / Retry-After), DEADLINE_EXCEEDED, and RESOURCE_EXHAUSTED / 429 when RetryInfo / Retry-After
/// comes with it (a tenant over its quota); everything else is the client's fault and
/// retrying it would only repeat the refusal.
/// </summary>
internal static class OtlpStatusTable
{
    public const int Count = 16;

    private static readonly FailureStatus[] Table =
    [
        /* MalformedPayload     */ new(GrpcCodes.InvalidArgument, 400, false, "malformed_payload"),
        /* PayloadTooLarge      */ new(GrpcCodes.ResourceExhausted, 413, false, "payload_too_large"),
        /* UnsupportedMediaType */ new(GrpcCodes.Internal, 415, false, "unsupported_media_type"), // gRPC spec: non-grpc content-type is HTTP 415
        /* UnsupportedEncoding  */ new(GrpcCodes.Unimplemented, 415, false, "unsupported_encoding"),
        /* MethodNotAllowed     */ new(GrpcCodes.Unimplemented, 405, false, "method_not_allowed"),
        /* UnknownPath          */ new(GrpcCodes.Unimplemented, 404, false, "unknown_path"),
        /* PermissionDenied     */ new(GrpcCodes.PermissionDenied, 403, false, "permission_denied"),
        /* SinkRefused          */ new(GrpcCodes.Unavailable, 503, true, "sink_refused"),
        /* SinkFailed           */ new(GrpcCodes.Unavailable, 503, true, "sink_failed"), // nothing was acknowledged, so a retry cannot duplicate
        /* DeadlineExceeded     */ new(GrpcCodes.DeadlineExceeded, 504, true, "deadline_exceeded"),
        /* ProtocolViolation    */ new(GrpcCodes.Internal, 400, false, "protocol_violation"), // e.g. compressed flag without grpc-encoding
        /* SignalNotServed      */ new(GrpcCodes.Unimplemented, 404, false, "signal_not_served"), // no pipeline of this signal uses the receiver (as upstream: service not registered)
        /* AdmissionBudgetExhausted */ new(GrpcCodes.Unavailable, 503, true, "admission_budget_exhausted"), // the in-flight byte budget is full; nothing was acknowledged
        /* MalformedHeader      */ new(GrpcCodes.InvalidArgument, 400, false, "malformed_header"), // e.g. grpc-timeout that is not 1-8 digits and a unit
        /* DecompressionRatioExceeded */ new(GrpcCodes.ResourceExhausted, 413, false, "decompression_ratio_exceeded"), // inflates beyond max_decompression_ratio x its wire size; retrying repeats it
        /* TenantQuotaExceeded  */ new(GrpcCodes.ResourceExhausted, 429, true, "tenant_quota_exceeded"), // OTLP spec: RESOURCE_EXHAUSTED is retryable with RetryInfo; 429 + Retry-After
    ];

    public static FailureStatus Get(ReceiveFailure failure) => Table[(int)failure];
}
