namespace TraceSeal.OpenTelemetry;

/// <summary>
/// The optional sealed disk buffer (<see cref="SecureOtlpOptions.DiskBuffer"/>, or the variables
/// <c>TRACESEAL_OTLP_BUFFER_DIRECTORY</c>, <c>TRACESEAL_OTLP_BUFFER_KEY_FILE</c>, <c>TRACESEAL_OTLP_BUFFER_MAX_BYTES</c>).
/// A batch whose export finally failed for a retryable reason (collector unreachable, 429/502/503/504, gRPC
/// UNAVAILABLE and the like, deadline exceeded) is written to <see cref="Directory"/> as one sealed object
/// (TraceSeal sealed object format, kind queue) and re-sent, oldest first, once exports succeed again.
/// </summary>
public sealed class SecureDiskBufferOptions
{
    /// <summary>Default <see cref="MaxBytes"/>: 64 MiB per signal.</summary>
    public const long DefaultMaxBytes = 64L * 1024 * 1024;

    /// <summary>The buffer directory (created 0700). Each signal uses its own subdirectory (<c>traces</c>, <c>metrics</c>, <c>logs</c>).</summary>
    public string? Directory { get; set; }

    /// <summary>The identity (private key) file the buffer is sealed to and opened with. Created (mode 0600) on first
    /// use when absent. MUST NOT be inside <see cref="Directory"/>: whoever can read the buffer must not hold its key.</summary>
    public string? KeyFile { get; set; }

    /// <summary>Bound on the sealed files of one signal, in bytes; beyond it the oldest files are dropped (and counted).
    /// Null: <see cref="DefaultMaxBytes"/>.</summary>
    public long? MaxBytes { get; set; }
}
