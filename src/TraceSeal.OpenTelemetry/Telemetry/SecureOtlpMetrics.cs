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

    public static KeyValuePair<string, object?> Signal(string signal) => new("signal", signal);

    public static KeyValuePair<string, object?> Reason(string reason) => new("reason", reason);
}
