using TraceSeal.Collector.Receivers;

namespace TraceSeal.Collector.Config;

/// <summary>
/// `service::admission` (TraceSeal): the in-flight byte budget every receiver of the collector shares
/// (<c>Receivers/AdmissionBudget.cs</c>). A service-level key, not a receiver one, because the memory it protects
/// is the process's, whichever receiver or protocol the bytes arrive on.
/// </summary>
internal sealed class AdmissionSettings
{
    /// <summary>Default share of the memory available to the process: 1/8 leaves the rest to the heap the memory_limiter watches.</summary>
    public const int DefaultDivisor = 8;

    /// <summary>Floor of the default: enough for a few large requests even in a small container.</summary>
    public const long DefaultFloorBytes = 64L * 1024 * 1024;

    /// <summary>Ceiling of the default: 2 GiB of requests in flight is far beyond what a full load holds (thousands of requests).</summary>
    public const long DefaultCeilingBytes = 2L * 1024 * 1024 * 1024;

    /// <summary>
    /// Scratch held while OTLP/JSON is transcoded, per JSON byte: the UTF-8 copy with hex ids rewritten (1) and the
    /// UTF-16 string Google.Protobuf's JSON parser reads (2). The parsed message graph is not counted.
    /// </summary>
    public const int TranscodeScratchPerByte = 3;

    /// <summary>Null = <see cref="DefaultBytes"/>, computed at start.</summary>
    public long? MaxInFlightBytes { get; init; }

    /// <summary>
    /// The most one request may reserve: its buffers, each at most max_request + 1 bytes (the +1 lets the reader see
    /// an excess) and at least one minimum rent. gRPC: the message and its inflated form. HTTP: the body, the
    /// inflated body, the transcoded protobuf and the transcoder's scratch.
    /// </summary>
    public static long PerRequestBytes(long maxRequestBytes, bool http)
    {
        long buffer = Math.Max(maxRequestBytes + 1, Receivers.PooledBufferWriter.MinimumSize);
        return http ? (3 + TranscodeScratchPerByte) * buffer : 2 * buffer;
    }

    /// <summary>The smallest budget in which one request of the largest allowed size fits, so no refusal can repeat forever.</summary>
    public static long MinimumBytes(IEnumerable<OtlpReceiverSettings> receivers)
    {
        long minimum = 0;
        foreach (OtlpReceiverSettings receiver in receivers)
        {
            if (receiver.Grpc is { } grpc)
            {
                minimum = Math.Max(minimum, PerRequestBytes(grpc.MaxRequestBytes, http: false));
            }

            if (receiver.Http is { } http)
            {
                minimum = Math.Max(minimum, PerRequestBytes(http.MaxRequestBytes, http: true));
            }
        }

        return minimum;
    }

    /// <summary>
    /// 1/8 of <paramref name="availableMemoryBytes"/> (by default <see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>:
    /// the cgroup limit in a container, or the GC heap hard limit when one is set), between 64 MiB and 2 GiB, and never
    /// below <see cref="MinimumBytes"/>.
    /// </summary>
    public static long DefaultBytes(IEnumerable<OtlpReceiverSettings> receivers, long availableMemoryBytes) =>
        Math.Max(Math.Clamp(availableMemoryBytes / DefaultDivisor, DefaultFloorBytes, DefaultCeilingBytes), MinimumBytes(receivers));

    /// <summary>The budget this config runs with.</summary>
    public long EffectiveBytes(IEnumerable<OtlpReceiverSettings> receivers) =>
        MaxInFlightBytes ?? DefaultBytes(receivers, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
}
