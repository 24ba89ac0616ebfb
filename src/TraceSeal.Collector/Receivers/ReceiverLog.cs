using Microsoft.Extensions.Logging;

namespace TraceSeal.Collector.Receivers;

/// <summary>
/// Every log line of the receivers (and their TLS reloaders). Event ids are unique and append-only.
/// Failures a peer can cause (handshakes, bad payloads, sink refusals) are Debug plus a counter, so a client
/// cannot flood the log. Nothing here carries payload contents or key material.
/// </summary>
internal static partial class ReceiverLog
{
    [LoggerMessage(1, LogLevel.Information, "receiver {Receiver} {Protocol} listening on {Endpoint} ({Security})", EventName = "ReceiverStarted")]
    public static partial void Started(ILogger logger, string receiver, string protocol, string endpoint, string security);

    [LoggerMessage(2, LogLevel.Warning, "receiver {Receiver} {Protocol} on {Endpoint} accepts PLAINTEXT because allow_plaintext: true; anyone on the network path can read and forge its telemetry. Add a tls block (cert_file, key_file, client_ca_file) to protect it", EventName = "PlaintextListener")]
    public static partial void Plaintext(ILogger logger, string receiver, string protocol, string endpoint);

    [LoggerMessage(3, LogLevel.Information, "receiver {Receiver} stopped", EventName = "ReceiverStopped")]
    public static partial void Stopped(ILogger logger, string receiver);

    [LoggerMessage(4, LogLevel.Debug, "receiver {Receiver} {Protocol}: TLS handshake from {Remote} refused: {Reason}", EventName = "HandshakeRefused")]
    public static partial void HandshakeRefused(ILogger logger, string receiver, string protocol, string? remote, string reason);

    [LoggerMessage(5, LogLevel.Debug, "receiver {Receiver} {Protocol}: request {Path} from {Remote} refused: {Reason}: {Detail}", EventName = "RequestRefused")]
    public static partial void RequestRefused(ILogger logger, string receiver, string protocol, string path, string? remote, string reason, string detail);

    // Warning, at most once a minute per identity (RefusalLogLimiter); the others of the minute are RequestRefused at Debug.
    [LoggerMessage(6, LogLevel.Warning, "receiver {Receiver} {Protocol}: client {Remote} refused (permission denied): {Detail} ({Suppressed} more refusals of this client since the previous line; exact counts in traceseal_receiver_refused_total)", EventName = "PermissionDenied")]
    public static partial void PermissionDenied(ILogger logger, string receiver, string protocol, string remote, string detail, long suppressed);

    [LoggerMessage(7, LogLevel.Debug, "receiver {Receiver}: sink refused a {Signal} batch of tenant {Tenant} ({Reason}); client told to retry after {RetryAfter}", EventName = "SinkRefused")]
    public static partial void SinkRefused(ILogger logger, string receiver, string signal, string tenant, string? reason, TimeSpan retryAfter);

    [LoggerMessage(8, LogLevel.Error, "receiver {Receiver}: sink failed on a {Signal} batch of tenant {Tenant}; the client is told to retry", EventName = "SinkFailed")]
    public static partial void SinkFailed(ILogger logger, Exception exception, string receiver, string signal, string tenant);

    [LoggerMessage(9, LogLevel.Information, "{Key}: TLS material loaded; server certificate {Subject} serial {Serial} valid until {NotAfter:O}", EventName = "TlsMaterialLoaded")]
    public static partial void TlsLoaded(ILogger logger, string key, string subject, string serial, DateTime notAfter);

    [LoggerMessage(10, LogLevel.Warning, "keeping the previous TLS material: {Reason}", EventName = "TlsReloadFailed")]
    public static partial void TlsReloadFailed(ILogger logger, string reason);

    [LoggerMessage(11, LogLevel.Warning, "{Key}: cannot watch {Directory} for changes ({Reason}); changes are still picked up by polling every {Interval}", EventName = "TlsWatcherFailed")]
    public static partial void TlsWatcherFailed(ILogger logger, string key, string directory, string reason, TimeSpan interval);

    [LoggerMessage(12, LogLevel.Information, "admission: at most {CapacityMiB} MiB of requests in flight across all receivers ({Source})", EventName = "AdmissionBudget")]
    public static partial void AdmissionBudget(ILogger logger, long capacityMiB, string source);

    // Warning, at most once a minute per tenant and rate (RefusalLogLimiter).
    [LoggerMessage(13, LogLevel.Warning, "receiver {Receiver} {Protocol}: request from {Remote} refused: {Detail} ({Suppressed} more refusals since the previous line; exact counts in traceseal_receiver_refused_total)", EventName = "TenantQuotaExceeded")]
    public static partial void QuotaExceeded(ILogger logger, string receiver, string protocol, string remote, string detail, long suppressed);

    // Warning, at most once a minute per address (RefusalLogLimiter); the others of the minute are event 15 at Debug.
    [LoggerMessage(14, LogLevel.Warning, "receiver {Receiver} {Protocol}: connection from {Remote} closed ({Reason}): {Detail} ({Suppressed} more from this address since the previous line)", EventName = "ConnectionRefused")]
    public static partial void ConnectionRefused(ILogger logger, string receiver, string protocol, string remote, string reason, string detail, long suppressed);

    [LoggerMessage(15, LogLevel.Debug, "receiver {Receiver} {Protocol}: connection from {Remote} closed ({Reason})", EventName = "ConnectionRefusedRepeated")]
    public static partial void ConnectionRefusedDebug(ILogger logger, string receiver, string protocol, string remote, string reason);

    [LoggerMessage(16, LogLevel.Warning, "receiver {Receiver}: unexpected failure on a request from {Remote}, answered 500 ({Suppressed} more since the previous line): {Error}", EventName = "RequestFailed")]
    public static partial void RequestFailed(ILogger logger, string receiver, string remote, string error, long suppressed);
}
