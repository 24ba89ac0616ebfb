namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>
/// What one attempt to send a request upstream produced.
/// </summary>
/// <param name="Code">grpc-status (otlp) or HTTP status (otlphttp); null when no response arrived.</param>
/// <param name="HasRetryInfo">The gRPC status details carried google.rpc.RetryInfo.</param>
/// <param name="ServerDelay">RetryInfo.retry_delay or Retry-After: the earliest moment the server wants us back.</param>
/// <param name="Rejected">partial_success rejected items of a successful response.</param>
/// <param name="Reason">For logs: the status and the server's message (truncated), or the transport error.</param>
internal readonly record struct AttemptResult(int? Code, bool HasRetryInfo, TimeSpan? ServerDelay, long Rejected, string Reason)
{
    public static AttemptResult NoResponse(string reason) => new(null, false, null, 0, reason);
}
