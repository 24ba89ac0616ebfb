using Microsoft.Extensions.Logging;

namespace TraceSeal.OpenTelemetry.Telemetry;

/// <summary>Every log line of the exporter. Event ids are unique and append-only.</summary>
internal static partial class SecureOtlpLog
{
    [LoggerMessage(1, LogLevel.Information, "TraceSeal OTLP {Signal} exporter started: {Protocol} to {Endpoint} ({EndpointSource}); server CA {CaFile}; client certificate {ClientSubject} valid until {NotAfter:u}", EventName = "ExporterStarted")]
    public static partial void ExporterStarted(ILogger logger, string signal, string protocol, Uri endpoint, string endpointSource, string caFile, string clientSubject, DateTime? notAfter);

    [LoggerMessage(2, LogLevel.Warning, "TraceSeal OTLP {Signal} exporter sends PLAINTEXT to {Endpoint}: TLS is off because {InsecureSource}=true. Anyone on the path can read and alter the telemetry", EventName = "PlaintextExport")]
    public static partial void PlaintextExport(ILogger logger, string signal, Uri endpoint, string insecureSource);

    [LoggerMessage(3, LogLevel.Error, "TLS refused, server certificate not rooted at the configured CA: {Message}", EventName = "ServerCertificateUntrusted")]
    public static partial void ServerCertificateUntrusted(ILogger logger, string message);

    [LoggerMessage(4, LogLevel.Error, "TLS refused, hostname mismatch: {Message}", EventName = "ServerHostnameMismatch")]
    public static partial void ServerHostnameMismatch(ILogger logger, string message);

    [LoggerMessage(5, LogLevel.Error, "TLS refused: {Message}", EventName = "ServerCertificateRefused")]
    public static partial void ServerCertificateRefused(ILogger logger, string message);

    [LoggerMessage(6, LogLevel.Debug, "{Signal} export attempt {Attempt} failed ({Reason}); retrying in {DelayMs} ms", EventName = "Retrying")]
    public static partial void Retrying(ILogger logger, string signal, int attempt, string reason, long delayMs);

    [LoggerMessage(7, LogLevel.Warning, "{Signal} export failed after {Attempts} attempt(s): {Reason}", EventName = "ExportFailed")]
    public static partial void ExportFailed(ILogger logger, string signal, int attempts, string reason);

    [LoggerMessage(8, LogLevel.Information, "{Signal} exporter reloaded its certificates: client certificate {ClientSubject} (serial {Serial}) valid until {NotAfter:u}; new connections use it", EventName = "CertificatesReloaded")]
    public static partial void CertificatesReloaded(ILogger logger, string signal, string clientSubject, string serial, DateTime? notAfter);

    [LoggerMessage(9, LogLevel.Warning, "{Signal} exporter keeps its current certificates: the changed files do not load ({Problem}); will check again", EventName = "CertificateReloadRejected")]
    public static partial void CertificateReloadRejected(ILogger logger, string signal, string problem);

    [LoggerMessage(10, LogLevel.Warning, "{Count} {Signal} item(s) dropped: {Reason}", EventName = "ItemsDropped")]
    public static partial void ItemsDropped(ILogger logger, long count, string signal, string reason);

    [LoggerMessage(11, LogLevel.Warning, "OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY={Value} is set: the upstream exporter retries too, on top of TraceSeal's spec-exact retry; unset it", EventName = "UpstreamRetryEnabled")]
    public static partial void UpstreamRetryEnabled(ILogger logger, string value);

    [LoggerMessage(12, LogLevel.Information, "TraceSeal OTLP {Signal} disk buffer: {Directory} sealed to key {KeyId} ({KeyFile}{Created}), at most {MaxBytes} bytes; {Pending} batch(es) waiting", EventName = "BufferStarted")]
    public static partial void BufferStarted(ILogger logger, string signal, string directory, string keyId, string keyFile, string created, long maxBytes, int pending);

    [LoggerMessage(13, LogLevel.Warning, "{Count} {Signal} item(s) written to the sealed disk buffer ({Reason}); they are re-sent when exports succeed again", EventName = "ExportBuffered")]
    public static partial void ExportBuffered(ILogger logger, long count, string signal, string reason);

    [LoggerMessage(14, LogLevel.Information, "{Signal} buffered batch {File} ({Count} item(s)) re-sent and accepted; {Pending} batch(es) left", EventName = "BufferReplayed")]
    public static partial void BufferReplayed(ILogger logger, string signal, string file, long count, int pending);

    [LoggerMessage(15, LogLevel.Warning, "{Signal} buffered batch {File} dropped: {Reason}", EventName = "BufferDropped")]
    public static partial void BufferDropped(ILogger logger, string signal, string file, string reason);

    [LoggerMessage(16, LogLevel.Error, "{Signal} buffer file {File} failed authentication ({Code}): corrupted or tampered with; renamed to {Quarantined} and never sent", EventName = "BufferQuarantined")]
    public static partial void BufferQuarantined(ILogger logger, string signal, string file, string code, string quarantined);

    [LoggerMessage(17, LogLevel.Warning, "{Signal} buffered batch {File} not re-sent yet ({Reason}); will try again after the next successful export", EventName = "BufferReplayDeferred")]
    public static partial void BufferReplayDeferred(ILogger logger, string signal, string file, string reason);
}
