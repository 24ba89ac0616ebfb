using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Receivers;

// Settings of the `otlp` receiver as loaded from the collector YAML. The loader (CollectorConfigLoader)
// fills these and reports every error with file:line; the receivers only ever see validated settings.

/// <summary>One protocol (grpc or http) of the `otlp` receiver.</summary>
internal sealed class OtlpProtocolSettings
{
    /// <summary>host:port, e.g. 0.0.0.0:4317.</summary>
    public required string Endpoint { get; init; }

    /// <summary>Null only when <see cref="AllowPlaintext"/> is true (the validator enforces it).</summary>
    public TlsServerSettings? Tls { get; init; }

    /// <summary>TraceSeal's explicit opt-out: without it a protocol with no `tls` block refuses to start.</summary>
    public bool AllowPlaintext { get; init; }

    /// <summary>Largest request accepted, compressed or not (gRPC default 4 MiB, HTTP default 20 MiB as upstream).</summary>
    public required long MaxRequestBytes { get; init; }

    /// <summary>
    /// `max_decompression_ratio` (TraceSeal): a compressed body may inflate to at most this many times its wire size
    /// (and never beyond <see cref="MaxRequestBytes"/>). 100: OTLP protobuf compresses 5-20x with gzip; 1000x is a bomb.
    /// </summary>
    public int MaxDecompressionRatio { get; init; } = DefaultMaxDecompressionRatio;

    public const int DefaultMaxDecompressionRatio = 100;
}

/// <summary>`limits` of the `otlp` receiver (TraceSeal): what one client, address or tenant may hold or take.</summary>
internal sealed class ReceiverLimitSettings
{
    /// <summary>4096: about 300 MB of idle mTLS + HTTP/2 connections (about 75 KB each), far above what SDKs open.</summary>
    public const int DefaultMaxConnections = 4096;

    /// <summary>256: an SDK opens one to a few connections; a flood from one address must leave room for the others.</summary>
    public const int DefaultMaxConnectionsPerAddress = 256;

    /// <summary>130 s: Kestrel's own default, longer than the 2 minutes after which load balancers and SDKs drop idle connections.</summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(130);

    /// <summary>Connections open at once across both protocols of the receiver; 0 = no limit.</summary>
    public int MaxConnections { get; init; } = DefaultMaxConnections;

    /// <summary>Connections open at once from one client IP address; 0 = no limit (behind a load balancer that hides client addresses).</summary>
    public int MaxConnectionsPerAddress { get; init; } = DefaultMaxConnectionsPerAddress;

    /// <summary>An established connection with no request in flight is closed after this long.</summary>
    public TimeSpan IdleTimeout { get; init; } = DefaultIdleTimeout;

    /// <summary>The quota of every tenant whose rule has no `quota` (and of tenant `default`); null = unlimited.</summary>
    public TenantQuotaSettings? TenantQuota { get; init; }
}

/// <summary>The `otlp` receiver: at least one protocol.</summary>
internal sealed class OtlpReceiverSettings
{
    /// <summary>Component id as written, e.g. `otlp` or `otlp/edge`.</summary>
    public required string Name { get; init; }
    public OtlpProtocolSettings? Grpc { get; init; }
    public OtlpProtocolSettings? Http { get; init; }

    /// <summary>Empty = every verified client goes to tenant `default`.</summary>
    public IReadOnlyList<TenantRule> Tenants { get; init; } = [];

    public ReceiverLimitSettings Limits { get; init; } = new();
}
