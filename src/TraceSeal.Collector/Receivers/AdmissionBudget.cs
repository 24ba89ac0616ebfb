namespace TraceSeal.Collector.Receivers;

/// <summary>
/// Admission by bytes: one in-flight byte budget per collector, shared by every receiver and protocol
/// (`service::admission::max_in_flight_bytes`, default <see cref="Config.AdmissionSettings.DefaultBytes"/>).
/// </summary>
/// <remarks>
/// <para><b>What is counted.</b> The request buffers a request holds, reserved before each is rented
/// (<see cref="PooledBufferWriter.TryCreate"/>, and each regrowth): the wire body, reserved as soon as its size is
/// known — the gRPC 5-byte length prefix, the HTTP <c>Content-Length</c> — or as bytes arrive when it is not
/// (chunked HTTP/1.1, HTTP/2 without content-length); the inflated body, reserved as it grows (gzip/deflate);
/// the transcoded protobuf of an OTLP/JSON body, plus the transcoder's scratch copies
/// (<see cref="Config.AdmissionSettings.TranscodeScratchPerByte"/> per JSON byte, held while it runs). Everything is
/// held through validation and until the sink returns, and released in the handlers' <c>finally</c> (the buffers'
/// <c>Dispose</c>), whatever the outcome.</para>
/// <para><b>Why inflated bytes are reserved as they grow</b> rather than <c>max_request_body_size</c> up front for
/// every compressed body: most OTLP exporters compress by default, so reserving the maximum (20 MiB) for each
/// 20 KB gzip request would admit only a few dozen ordinary requests at once and refuse a normal load. Growing
/// reservations cost one interlocked operation per doubling of a buffer and bound a gzip bomb just as well: it
/// is refused (retryably) as soon as its inflated bytes do not fit.</para>
/// <para><b>When it is exhausted</b> the request is refused retryably (<see cref="ReceiveFailure.AdmissionBudgetExhausted"/>:
/// gRPC UNAVAILABLE + RetryInfo, HTTP 503 + Retry-After) — before its body is read when the size is known up
/// front. A request of the largest allowed size always fits an otherwise idle budget: the loader refuses a
/// budget smaller than <see cref="Config.AdmissionSettings.MinimumBytes"/>, so a refusal can never repeat forever.</para>
/// <para>The hot path allocates nothing: a compare-and-swap loop on one <see cref="long"/> to reserve, one
/// <see cref="Interlocked.Add(ref long, long)"/> to release.</para>
/// </remarks>
internal sealed class AdmissionBudget
{
    /// <summary>Asked of refused clients: requests in flight finish within milliseconds to seconds.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>What a refused client reads (grpc-message / google.rpc.Status message).</summary>
    public const string RefusalMessage = "the collector holds as many request bytes as its admission budget allows; retry later";

    /// <summary>/readyz reports the budget as refusing for this long after its last refusal (probes are seconds apart).</summary>
    public static readonly TimeSpan ReadinessWindow = TimeSpan.FromSeconds(5);

    private readonly TimeProvider _time;
    private long _inFlight;
    private long _refused;
    private long _lastRefusalTimestamp;

    public AdmissionBudget(long capacityBytes, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(capacityBytes, 0);
        CapacityBytes = capacityBytes;
        _time = time ?? TimeProvider.System;
    }

    public long CapacityBytes { get; }

    public long InFlightBytes => Volatile.Read(ref _inFlight);

    /// <summary>Reservations refused (one per refused request: a request stops at its first refusal).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>True while a reservation was refused within <see cref="ReadinessWindow"/>.</summary>
    public bool RefusedRecently =>
        Interlocked.Read(ref _refused) > 0 && _time.GetElapsedTime(Interlocked.Read(ref _lastRefusalTimestamp)) < ReadinessWindow;

    /// <summary>Reserves <paramref name="bytes"/> if they fit; false (and counted) otherwise.</summary>
    public bool TryReserve(long bytes)
    {
        long current = Volatile.Read(ref _inFlight);
        while (true)
        {
            long next = current + bytes;
            if (next > CapacityBytes)
            {
                Interlocked.Exchange(ref _lastRefusalTimestamp, _time.GetTimestamp());
                Interlocked.Increment(ref _refused);
                return false;
            }

            long seen = Interlocked.CompareExchange(ref _inFlight, next, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }
    }

    public void Release(long bytes) => Interlocked.Add(ref _inFlight, -bytes);
}
