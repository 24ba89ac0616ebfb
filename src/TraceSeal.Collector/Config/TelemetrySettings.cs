namespace TraceSeal.Collector.Config;

/// <summary>`service::telemetry`: the collector's own metrics and logs (never telemetry it receives).</summary>
internal sealed class TelemetrySettings
{
    /// <summary>Loopback by default: the self-metrics page has no authentication, so it must not face the network.</summary>
    public string MetricsAddress { get; init; } = "127.0.0.1:8888";

    /// <summary>none | basic | normal | detailed; `normal` as upstream.</summary>
    public string MetricsLevel { get; init; } = "normal";

    /// <summary>debug | info | warn | error; `info` as upstream.</summary>
    public string LogLevel { get; init; } = "info";

    /// <summary>console | json; `console` as upstream (json for log shippers).</summary>
    public string LogEncoding { get; init; } = "console";
}
