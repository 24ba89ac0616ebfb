using Microsoft.Extensions.Logging;

namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>
/// Log events of the forwarding exporters (ids 5001+, append only). They carry ids, endpoints, counts and
/// upstream status texts (truncated), never telemetry contents or header values.
/// </summary>
internal static partial class ExporterLog
{
    [LoggerMessage(5001, LogLevel.Information, "exporter {Exporter} forwarding over {Protocol} to {Endpoint} ({Security})", EventName = "ExporterStarted")]
    public static partial void Started(ILogger logger, string exporter, string protocol, string endpoint, string security);

    [LoggerMessage(5002, LogLevel.Warning, "exporter {Exporter} sends telemetry to {Endpoint} in PLAINTEXT (tls::insecure: true)", EventName = "ExporterPlaintext")]
    public static partial void Plaintext(ILogger logger, string exporter, string endpoint);

    [LoggerMessage(5003, LogLevel.Debug, "exporter {Exporter}: {Signal} attempt {Attempt} failed ({Reason}); retrying in {DelayMs} ms", EventName = "ExportRetrying")]
    public static partial void Retrying(ILogger logger, string exporter, string signal, int attempt, string reason, long delayMs);

    [LoggerMessage(5004, LogLevel.Warning, "exporter {Exporter}: upstream accepted {Signal} partially: {Rejected} item(s) rejected: {Message}", EventName = "ExportPartialSuccess")]
    public static partial void PartialSuccess(ILogger logger, string exporter, string signal, long rejected, string message);

    [LoggerMessage(5005, LogLevel.Error, "exporter {Exporter}: upstream refused {Signal} permanently ({Reason}); {Items} item(s) dropped, retrying cannot help", EventName = "ExportDropped")]
    public static partial void Dropped(ILogger logger, string exporter, string signal, string reason, int items);

    [LoggerMessage(5006, LogLevel.Warning, "exporter {Exporter}: upstream unavailable for {Signal} after {Attempts} attempt(s) in {ElapsedMs} ms ({Reason}); the client is told to retry", EventName = "ExportUpstreamUnavailable")]
    public static partial void UpstreamUnavailable(ILogger logger, string exporter, string signal, int attempts, long elapsedMs, string reason);

    [LoggerMessage(5007, LogLevel.Error, "exporter {Exporter}: refused the upstream's TLS certificate: {Reason}", EventName = "ExportServerCertificateRefused")]
    public static partial void ServerCertificateRefused(ILogger logger, string exporter, string reason);

    [LoggerMessage(5008, LogLevel.Information, "exporter {Exporter}: TLS material reloaded (client certificate {Subject}, expires {NotAfter:O})", EventName = "ExporterTlsReloaded")]
    public static partial void TlsReloaded(ILogger logger, string exporter, string subject, DateTime notAfter);

    [LoggerMessage(5009, LogLevel.Warning, "exporter {Exporter}: TLS material changed but cannot be loaded, keeping the previous: {Reason}", EventName = "ExporterTlsReloadFailed")]
    public static partial void TlsReloadFailed(ILogger logger, string exporter, string reason);

    [LoggerMessage(5010, LogLevel.Information, "exporter {Exporter} stopped", EventName = "ExporterStopped")]
    public static partial void Stopped(ILogger logger, string exporter);
}
