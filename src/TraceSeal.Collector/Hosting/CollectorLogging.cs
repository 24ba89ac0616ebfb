using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace TraceSeal.Collector.Hosting;

/// <summary>
/// Console logging for the collector: single-line text or JSON, always on standard error so that standard
/// output stays free for what commands print for the user (e.g. `traceseal up`'s export lines).
/// Log messages never carry telemetry contents (see docs/security.md).
/// </summary>
internal static class CollectorLogging
{
    public static ILoggerFactory Create(string format, LogLevel level) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(level);
        // Kestrel's own connection chatter stays at Warning unless debugging is asked for.
        builder.AddFilter("Microsoft", level <= LogLevel.Debug ? level : LogLevel.Warning);
        // "Hosting failed to start" comes with the whole stack trace at Error, and the exception is then thrown to
        // the collector's start, which reports a user mistake (a busy port) as one line naming the key to change.
        builder.AddFilter("Microsoft.Extensions.Hosting", level <= LogLevel.Debug ? level : LogLevel.Critical);
        if (string.Equals(format, "json", StringComparison.OrdinalIgnoreCase))
        {
            builder.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
            });
        }
        else
        {
            builder.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
            });
        }

        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    });

    public static LogLevel ParseLevel(string text) => text.ToLowerInvariant() switch
    {
        "debug" => LogLevel.Debug,
        "info" or "information" => LogLevel.Information,
        "warn" or "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        _ => throw new ArgumentException($"log level \"{text}\" is not one of debug, info, warn, error"),
    };
}
