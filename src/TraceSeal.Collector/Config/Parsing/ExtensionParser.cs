using TraceSeal.Collector.Extensions.HealthCheck;

namespace TraceSeal.Collector.Config;

/// <summary>
/// `extensions:` (upstream's section for components outside pipelines). Only `health_check` is provided; the other
/// common ones are refused with their reason, because each opens an unauthenticated port onto data in flight or
/// writes plaintext.
/// </summary>
internal static class ExtensionParser
{
    public static readonly string[] Types = ["health_check"];

    /// <summary>Upstream extensions TraceSeal refuses, with why and what to use instead.</summary>
    public static string? RefusalReason(string type) => type switch
    {
        "pprof" => "pprof serves the process's memory and CPU profiles over plain HTTP, and memory holds telemetry in flight; profile with dotnet-trace or dotnet-counters on the host instead",
        "zpages" => "zpages shows recent spans and pipeline internals over plain HTTP without authentication; use /metrics and /readyz on service::telemetry::metrics::address",
        "file_storage" => "file_storage keeps queued telemetry in plaintext at rest; the otlp exporters' sending_queue is sealed on disk without it (enabled: true alone)",
        "memory_ballast" => "memory_ballast was removed upstream; use the memory_limiter processor (limit_percentage)",
        _ => null,
    };

    public static HealthCheckSettings? Parse(ConfigContext ctx, string id, string type, YamlMap map) => type switch
    {
        "health_check" => HealthCheckParser.Parse(ctx, id, map),
        _ => null,
    };
}
