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

    [LoggerMessage(5011, LogLevel.Information, "exporter {Exporter}: sealed sending queue in {Directory} (queue key {KeyId}); {BacklogBytes} byte(s) left by an earlier run will be resent", EventName = "ExporterQueueOpened")]
    public static partial void QueueOpened(ILogger logger, string exporter, string directory, string keyId, long backlogBytes);

    [LoggerMessage(5012, LogLevel.Warning, "exporter {Exporter}: created the queue key {Path} (mode 0600); it opens only this exporter's queue: keep it outside the queue directory", EventName = "ExporterQueueKeyCreated")]
    public static partial void QueueKeyCreated(ILogger logger, string exporter, string path);

    [LoggerMessage(5013, LogLevel.Warning, "exporter {Exporter}: sending queue full ({BacklogBytes} of max_backlog_bytes {MaxBytes} not yet forwarded); clients are told to retry", EventName = "ExporterQueueFull")]
    public static partial void QueueFull(ILogger logger, string exporter, long backlogBytes, long maxBytes);

    [LoggerMessage(5014, LogLevel.Warning, "exporter {Exporter}: upstream unavailable ({Reason}); queueing sealed, {BacklogBytes} byte(s) waiting, retrying with backoff", EventName = "ExporterQueueUpstreamDown")]
    public static partial void QueueUpstreamDown(ILogger logger, string exporter, string reason, long backlogBytes);

    [LoggerMessage(5015, LogLevel.Information, "exporter {Exporter}: upstream accepts again after {ElapsedMs} ms; forwarding the queue ({BacklogBytes} byte(s) waiting)", EventName = "ExporterQueueUpstreamBack")]
    public static partial void QueueUpstreamBack(ILogger logger, string exporter, long elapsedMs, long backlogBytes);

    [LoggerMessage(5016, LogLevel.Warning, "exporter {Exporter}: cut a torn tail of {Bytes} byte(s) from {Path} (never acknowledged); {Kept} byte(s) kept", EventName = "ExporterQueueTornTailCut")]
    public static partial void QueueTornTailCut(ILogger logger, string exporter, string path, long bytes, long kept);

    [LoggerMessage(5017, LogLevel.Error, "exporter {Exporter}: sending queue write failed; {Requests} request(s) refused (retryable)", EventName = "ExporterQueueWriteFailed")]
    public static partial void QueueWriteFailed(ILogger logger, string exporter, int requests, Exception exception);

    [LoggerMessage(5018, LogLevel.Error, "exporter {Exporter}: queue frame {Frame} of {Path} cannot be read ({Code}); skipped, its data is lost", EventName = "ExporterQueueFrameUnreadable")]
    public static partial void QueueFrameUnreadable(ILogger logger, string exporter, string path, long frame, string code);

    [LoggerMessage(5019, LogLevel.Warning, "exporter {Exporter}: cannot write the queue cursor ({Failures} failure(s) since the last such line, at most one per 30 s): {Reason}; after a restart the records since the last cursor are sent again", EventName = "ExporterQueueCursorWriteFailed")]
    public static partial void QueueCursorWriteFailed(ILogger logger, string exporter, long failures, string reason);

    [LoggerMessage(5020, LogLevel.Error, "exporter {Exporter}: the queue sender failed to read or delete a segment; retrying in {DelayMs} ms", EventName = "ExporterQueueSenderFailed")]
    public static partial void QueueSenderFailed(ILogger logger, string exporter, long delayMs, Exception exception);

    [LoggerMessage(5021, LogLevel.Warning, "exporter {Exporter}: upstream refused a merged {Signal} request of {Records} queued record(s) permanently ({Reason}); resending them one by one", EventName = "ExporterMergedRequestRefused")]
    public static partial void MergedRequestRefused(ILogger logger, string exporter, string signal, int records, string reason);

    [LoggerMessage(5022, LogLevel.Debug, "exporter {Exporter}: sending queue writes still fail; {Requests} request(s) refused (retryable)", EventName = "ExporterQueueWriteStillFailing")]
    public static partial void QueueWriteStillFailing(ILogger logger, string exporter, int requests);

    [LoggerMessage(5023, LogLevel.Information, "exporter {Exporter}: sending queue writes succeed again", EventName = "ExporterQueueWriteRecovered")]
    public static partial void QueueWriteRecovered(ILogger logger, string exporter);

    [LoggerMessage(5024, LogLevel.Error, "exporter {Exporter}: cannot complete queue segment {Path} (end frame); retrying every {DelayMs} ms, nothing acknowledged is lost", EventName = "ExporterQueueSegmentCloseFailed")]
    public static partial void QueueSegmentCloseFailed(ILogger logger, string exporter, string path, long delayMs, Exception exception);

    [LoggerMessage(5025, LogLevel.Information, "exporter {Exporter}: forwards from the WAL of {Store} the records of its pipelines [{Pipelines}] (one sealed, fsync'd write per request; its own sending queue, if any, only sends what an earlier run left)", EventName = "ExporterReadsWal")]
    public static partial void ReadsWal(ILogger logger, string exporter, string store, string pipelines);

    [LoggerMessage(5026, LogLevel.Information, "exporter {Exporter}: does not read the WAL of {Store} and keeps {Path}: its pipelines [{Pipelines}] are not all among the store's [{StorePipelines}], so the WAL would miss the requests of those without the store; each request is then written twice", EventName = "ExporterKeepsOwnQueue")]
    public static partial void KeepsOwnQueue(ILogger logger, string exporter, string store, string path, string pipelines, string storePipelines);
}
