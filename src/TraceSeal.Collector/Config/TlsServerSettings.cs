namespace TraceSeal.Collector.Config;

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
