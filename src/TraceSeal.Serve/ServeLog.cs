using Microsoft.Extensions.Logging;

namespace TraceSeal.Serve;

/// <summary>Log events of `traceseal serve` (ids 9001+, append only). Paths are logged without their query string; the token never is.</summary>
internal static partial class ServeLog
{
    [LoggerMessage(9001, LogLevel.Information, "serving {Url} (store {Store}; {Auth})", EventName = "ServeStarted")]
    public static partial void Started(ILogger logger, string url, string store, string auth);

    [LoggerMessage(9002, LogLevel.Debug, "unauthenticated request refused: {Method} {Path}", EventName = "ServeUnauthenticated")]
    public static partial void Unauthenticated(ILogger logger, string method, string path);

    [LoggerMessage(9003, LogLevel.Error, "store read failed for {Path}: {Message}", EventName = "ServeStoreFailed")]
    public static partial void StoreFailed(ILogger logger, string path, string message);

    [LoggerMessage(9004, LogLevel.Warning, "skipped an undecodable record in {Object} ({Signal}): {Reason}", EventName = "ServeRecordSkipped")]
    public static partial void RecordSkipped(ILogger logger, string @object, string signal, string reason);

    [LoggerMessage(9005, LogLevel.Information, "serve stopped", EventName = "ServeStopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(9006, LogLevel.Debug, "client certificate refused: {Reason}", EventName = "ServeClientCertificateRefused")]
    public static partial void ClientCertificateRefused(ILogger logger, string reason);
}
