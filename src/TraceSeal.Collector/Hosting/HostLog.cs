using Microsoft.Extensions.Logging;

namespace TraceSeal.Collector.Hosting;

internal static partial class HostLog
{
    [LoggerMessage(1001, LogLevel.Information, "collector started: {Receivers} receiver(s), {Exporters} exporter(s), config {ConfigPath}", EventName = "CollectorStarted")]
    public static partial void Started(ILogger logger, int receivers, int exporters, string configPath);

    [LoggerMessage(1002, LogLevel.Information, "collector stopped", EventName = "CollectorStopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(1003, LogLevel.Warning, "config warning at {Location}: {KeyPath}: {Message}", EventName = "ConfigWarning")]
    public static partial void ConfigWarning(ILogger logger, string location, string keyPath, string message);
}
