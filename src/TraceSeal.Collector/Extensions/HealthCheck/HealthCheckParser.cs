using System.Globalization;
using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Extensions.HealthCheck;

/// <summary>Reads `extensions::health_check` (upstream keys; `port` is upstream's deprecated form of `endpoint`).</summary>
internal static class HealthCheckParser
{
    private static readonly string[] Keys = ["endpoint", "port", "path", "response_body", "check_collector_pipeline"];

    public static HealthCheckSettings? Parse(ConfigContext ctx, string id, YamlMap m)
    {
        m.CheckKeys(Keys);
        var endpoint = m.Scalar("endpoint");
        string? value = endpoint?.Value;
        if (endpoint is not null && !IsHostPort(value))
        {
            ctx.Error(endpoint, m.Child("endpoint"), $"invalid endpoint \"{value}\"; use host:port, e.g. localhost:13133");
            return null;
        }

        if (m.Integer("port", 0, 65535) is { } port)
        {
            if (endpoint is not null)
            {
                ctx.Error(m.KeyNode("port")!, m.Child("port"), "port is the deprecated form of endpoint; remove it and keep endpoint");
                return null;
            }

            value = "localhost:" + port.ToString(CultureInfo.InvariantCulture);
        }

        var path = m.Scalar("path");
        if (path is not null && !(path.Value ?? "").StartsWith('/'))
        {
            ctx.Error(path, m.Child("path"), $"invalid path \"{path.Value}\"; it starts with /, e.g. /health/status");
            return null;
        }

        var body = m.Map("response_body");
        body?.CheckKeys(["healthy", "unhealthy"]);
        var pipelineCheck = m.Map("check_collector_pipeline");
        pipelineCheck?.CheckKeys(["enabled", "interval", "exporter_failure_threshold"]);
        if (pipelineCheck?.Bool("enabled") == true)
        {
            ctx.Error(pipelineCheck.ValueNode("enabled")!, pipelineCheck.Child("enabled"),
                "not supported (upstream deprecated it as unreliable): for readiness use /readyz on service::telemetry::metrics::address, which reports failing exporters; remove check_collector_pipeline");
            return null;
        }

        _ = pipelineCheck?.Duration("interval");
        _ = pipelineCheck?.Integer("exporter_failure_threshold", 1);
        return new HealthCheckSettings
        {
            Name = id,
            Endpoint = value ?? HealthCheckSettings.DefaultEndpoint,
            Path = path?.Value ?? "/",
            HealthyBody = body?.String("healthy"),
            UnhealthyBody = body?.String("unhealthy"),
        };
    }

    private static bool IsHostPort(string? value)
    {
        int colon = value?.LastIndexOf(':') ?? -1;
        return colon > 0
            && int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port)
            && port <= 65535
            && !value!.Contains("://", StringComparison.Ordinal);
    }
}
