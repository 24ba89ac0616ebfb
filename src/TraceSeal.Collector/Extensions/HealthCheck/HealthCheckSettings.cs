namespace TraceSeal.Collector.Extensions.HealthCheck;

/// <summary>`health_check` (upstream extension/healthcheckextension, the v1 HTTP endpoint).</summary>
internal sealed class HealthCheckSettings
{
    /// <summary>
    /// Loopback. Upstream's README gives 0.0.0.0:13133 (newer releases default to localhost, as receivers do): the
    /// port has no TLS and no authentication, so facing the network must be asked for (a pod's probes need
    /// 0.0.0.0:13133 written out; deploy/kubernetes does).
    /// </summary>
    public const string DefaultEndpoint = "localhost:13133";

    /// <summary>Component id as written, e.g. `health_check` or `health_check/k8s`.</summary>
    public required string Name { get; init; }

    /// <summary>host:port to listen on.</summary>
    public string Endpoint { get; init; } = DefaultEndpoint;

    /// <summary>The path that answers (upstream's "/"); anything else is 404.</summary>
    public string Path { get; init; } = "/";

    /// <summary>`response_body::healthy`: replaces upstream's JSON body when set.</summary>
    public string? HealthyBody { get; init; }

    /// <summary>`response_body::unhealthy`: replaces upstream's JSON body when set.</summary>
    public string? UnhealthyBody { get; init; }
}
