using Microsoft.Extensions.Logging;

namespace TraceSeal.Collector.Telemetry;

/// <summary>Log events of the self-telemetry listener (ids 6001+, append only).</summary>
internal static partial class TelemetryLog
{
    [LoggerMessage(6001, LogLevel.Information, "self-telemetry on http://{Endpoint} (/metrics, /healthz, /readyz)", EventName = "TelemetryStarted")]
    public static partial void Started(ILogger logger, string endpoint);

    [LoggerMessage(6002, LogLevel.Warning, "self-telemetry listens on {Endpoint}, which is not loopback: /metrics has no TLS and no authentication, so anyone who can reach the port reads the collector's counters; prefer 127.0.0.1", EventName = "TelemetryNotLoopback")]
    public static partial void NotLoopback(ILogger logger, string endpoint);

    [LoggerMessage(6003, LogLevel.Information, "self-telemetry disabled (service::telemetry::metrics::level: none)", EventName = "TelemetryDisabled")]
    public static partial void Disabled(ILogger logger);

    [LoggerMessage(6004, LogLevel.Information, "self-telemetry stopped", EventName = "TelemetryStopped")]
    public static partial void Stopped(ILogger logger);
}
