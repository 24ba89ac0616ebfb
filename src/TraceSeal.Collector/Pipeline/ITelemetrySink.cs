using TraceSeal.Otlp;

namespace TraceSeal.Collector.Pipeline;

/// <summary>
/// One validated OTLP export request, as the receivers hand it on. <see cref="Payload"/> is always the
/// protobuf encoding (OTLP/JSON is transcoded first) and is only valid for the duration of the call:
/// the receiver returns the buffer to its pool afterwards, so a sink that keeps the data must copy it.
/// </summary>
internal readonly struct ReceivedBatch
{
    public required OtlpSignal Signal { get; init; }
    public required ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>Spans, data points or log records in the request.</summary>
    public required int ItemCount { get; init; }

    /// <summary>Tenant chosen by the identity rules; part of everything stored later.</summary>
    public required string Tenant { get; init; }

    /// <summary>The identity that admitted the client (e.g. `uri:spiffe://corp/ns/payments/sa/api`), or `anonymous` on an opted-out plaintext port.</summary>
    public required string Identity { get; init; }

    /// <summary>Receiver component id, e.g. `otlp`.</summary>
    public required string Receiver { get; init; }

    /// <summary>
    /// Traces: the index entries gathered while the receiver validated the request (trace ids, times, service
    /// and span names), so a store indexes without parsing the payload again. Pooled and, like
    /// <see cref="Payload"/>, valid only during the call. Null for metrics and logs.
    /// </summary>
    public Storage.Index.RequestIndex? Index { get; init; }

    /// <summary>
    /// For a sealed store that forwarders read: which of them forward this request (docs/format.md §14.12, the
    /// consumer list of its WAL record, made once per pipeline route at start by Hosting/WalForwarding). Null: a
    /// version 1 record, for every forwarder of its signal.
    /// </summary>
    public byte[]? WalConsumers { get; init; }
}

/// <summary>
/// What a sink did with a batch. Refusals are retryable (the client is told when to come back) unless
/// <see cref="Unsupported"/>: the signal has no pipeline here, which retrying cannot fix (UNIMPLEMENTED / 404).
/// </summary>
internal readonly record struct SinkResult(bool Accepted, TimeSpan RetryAfter, string? Reason)
{
    /// <summary>False only for <see cref="Unsupported"/>.</summary>
    public bool Retryable { get; init; } = true;

    public static SinkResult Ok => new(true, TimeSpan.Zero, null);
    public static SinkResult Refuse(TimeSpan retryAfter, string reason) => new(false, retryAfter, reason);
    public static SinkResult Unsupported(string reason) => new(false, TimeSpan.Zero, reason) { Retryable = false };
}

/// <summary>
/// Where receivers deliver. An accepted result is the acknowledgement the client gets, so a sink must
/// only return it once the data is as safe as the configuration promises (durable, once the WAL lands).
/// </summary>
internal interface ITelemetrySink
{
    ValueTask<SinkResult> AcceptAsync(ReceivedBatch batch, CancellationToken cancellationToken);
}
