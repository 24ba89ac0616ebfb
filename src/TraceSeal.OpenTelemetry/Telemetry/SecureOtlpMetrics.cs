using System.Diagnostics.Metrics;

namespace TraceSeal.OpenTelemetry.Telemetry;

/// <summary>
/// The exporter's own counters, on the meter <c>TraceSeal.OpenTelemetry</c> (add it to a MeterProvider to export
/// them). Every instrument carries <c>signal</c> (traces | metrics | logs).
/// </summary>
internal static class SecureOtlpMetrics
{
    public const string MeterName = "TraceSeal.OpenTelemetry";

    private static readonly Meter Meter = new(MeterName, "1.0");

    /// <summary>Items (spans, metric points batches, log records) the collector acknowledged.</summary>
    public static readonly Counter<long> Exported = Meter.CreateCounter<long>("traceseal.otlp.exported", "{item}", "Items exported and acknowledged by the collector.");

    /// <summary>Items lost: <c>reason</c> = queue_full (the bounded queue was full) or export_failed (retries exhausted or permanent error).</summary>
    public static readonly Counter<long> Dropped = Meter.CreateCounter<long>("traceseal.otlp.dropped", "{item}", "Items dropped: queue full or export failed after retries.");

    /// <summary>Export attempts repeated; <c>reason</c> = the gRPC code, HTTP status or transport error that caused it.</summary>
    public static readonly Counter<long> Retried = Meter.CreateCounter<long>("traceseal.otlp.retries", "{attempt}", "Export requests retried per the OTLP specification.");

    /// <summary>Handshakes refused because of the server certificate; <c>reason</c> = untrusted_ca | hostname_mismatch | no_certificate | system_trust.</summary>
    public static readonly Counter<long> TlsRefused = Meter.CreateCounter<long>("traceseal.otlp.tls_refused", "{handshake}", "TLS handshakes refused because of the server certificate.");

    /// <summary>Certificate file changes seen; <c>result</c> = applied | rejected.</summary>
    public static readonly Counter<long> CertificateReloads = Meter.CreateCounter<long>("traceseal.otlp.certificate_reloads", "{reload}", "Certificate file changes applied or rejected.");

    /// <summary>Batches written to the sealed disk buffer after their export failed for a retryable reason.</summary>
    public static readonly Counter<long> Buffered = Meter.CreateCounter<long>("traceseal.otlp.buffer.buffered", "{batch}", "Batches written to the sealed disk buffer after a retryable export failure.");

    /// <summary>Buffered batches re-sent and accepted by the collector (their file is then deleted).</summary>
    public static readonly Counter<long> Replayed = Meter.CreateCounter<long>("traceseal.otlp.buffer.replayed", "{batch}", "Buffered batches re-sent and accepted by the collector.");

    /// <summary>Buffered batches lost; <c>reason</c> = max_bytes (oldest dropped to stay within MaxBytes) | write_failed | rejected (the collector refused the replay permanently).</summary>
    public static readonly Counter<long> BufferDropped = Meter.CreateCounter<long>("traceseal.otlp.buffer.dropped", "{batch}", "Batches dropped from the sealed disk buffer.");

    /// <summary>Buffer files that did not open (corrupted, tampered, foreign key): renamed to <c>.bad</c>, never sent.</summary>
    public static readonly Counter<long> Quarantined = Meter.CreateCounter<long>("traceseal.otlp.buffer.quarantined", "{file}", "Buffer files that failed authentication, renamed .bad and never sent.");

    public static KeyValuePair<string, object?> Signal(string signal) => new("signal", signal);

    public static KeyValuePair<string, object?> Reason(string reason) => new("reason", reason);
}
