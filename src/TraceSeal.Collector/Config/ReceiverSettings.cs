namespace TraceSeal.Collector.Config;

// Settings of the `otlp` receiver as loaded from the collector YAML. The loader (CollectorConfigLoader)
// fills these and reports every error with file:line; the receivers only ever see validated settings.

/// <summary>`tls:` block of a receiver protocol (upstream configtls.ServerConfig keys).</summary>
internal sealed class TlsServerSettings
{
    public required string CertFile { get; init; }
    public required string KeyFile { get; init; }

    /// <summary>Upstream: CA for *clients of this server to verify it*; it does not turn on mTLS. Kept for chain building.</summary>
    public string? CaFile { get; init; }

    /// <summary>CA bundle that client certificates must chain to. Set = mutual TLS required.</summary>
    public string? ClientCaFile { get; init; }

    /// <summary>Default 1.2: the seeds and PCI-DSS both rule out 1.0/1.1.</summary>
    public string MinVersion { get; init; } = "1.2";

    public string? MaxVersion { get; init; }

    /// <summary>IANA names such as TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256; empty = platform defaults.</summary>
    public IReadOnlyList<string> CipherSuites { get; init; } = [];

    /// <summary>Polling interval on top of the file watcher; null = watcher only (plus a 1 minute safety poll).</summary>
    public TimeSpan? ReloadInterval { get; init; }
}

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
}

/// <summary>Maps client identities (from the verified client certificate) to a tenant.</summary>
internal sealed class TenantRule
{
    public required string Tenant { get; init; }

    /// <summary>
    /// Identity patterns: `cn:NAME`, `dns:NAME`, `uri:URI`, or without prefix (any kind). `*` matches any run of
    /// characters, e.g. `spiffe://corp/ns/payments/*`.
    /// </summary>
    public required IReadOnlyList<string> Identities { get; init; }
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
}
