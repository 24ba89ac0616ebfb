using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>Which OTLP transport an `otlp`/`otlphttp` exporter speaks.</summary>
internal enum OtlpExporterProtocol
{
    /// <summary>`otlp`: OTLP/gRPC.</summary>
    Grpc,

    /// <summary>`otlphttp`: OTLP/HTTP with protobuf bodies.</summary>
    Http,
}

/// <summary>`otlp` / `otlphttp`: forwards upstream. With `sending_queue::directory` the sealed queue holds the data while upstream is down.</summary>
internal sealed class OtlpExporterSettings : ExporterSettings
{
    public required OtlpExporterProtocol Protocol { get; init; }

    /// <summary>`host:port` or a URL (`https://...`; `http://` only with `tls::insecure: true`).</summary>
    public required string Endpoint { get; init; }

    public TlsClientSettings Tls { get; init; } = new();

    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>`gzip` (upstream's default: telemetry compresses well) or `none`.</summary>
    public string Compression { get; init; } = "gzip";

    /// <summary>Per attempt. 5s for otlp and 30s for otlphttp, as upstream (the loader picks by type).</summary>
    public required TimeSpan Timeout { get; init; }

    public RetrySettings Retry { get; init; } = new();

    public SendingQueueSettings Queue { get; init; } = new();
}

/// <summary>Client side `tls:` (upstream configtls.ClientConfig subset). TLS is on unless <see cref="Insecure"/>.</summary>
internal sealed class TlsClientSettings
{
    /// <summary>CA bundle to verify the server; null = system roots.</summary>
    public string? CaFile { get; init; }

    /// <summary>Client certificate for mutual TLS; set together with <see cref="KeyFile"/>.</summary>
    public string? CertFile { get; init; }

    public string? KeyFile { get; init; }

    /// <summary>Plaintext; only with an explicit http:// endpoint, and always reported as a warning.</summary>
    public bool Insecure { get; init; }

    public string? ServerNameOverride { get; init; }

    /// <summary>Default 1.2: 1.0/1.1 are deprecated (RFC 8996).</summary>
    public string MinVersion { get; init; } = "1.2";

    public TimeSpan? ReloadInterval { get; init; }
}

/// <summary>`retry_on_failure`; defaults are upstream's (exponential backoff, bounded by max_elapsed_time).</summary>
internal sealed class RetrySettings
{
    public bool Enabled { get; init; } = true;
    public TimeSpan InitialInterval { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan MaxInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>300s as upstream; zero = no limit. Not applied by the sealed queue's sender, which never gives up on queued data.</summary>
    public TimeSpan MaxElapsedTime { get; init; } = TimeSpan.FromSeconds(300);

    public double Multiplier { get; init; } = 1.5;
    public double RandomizationFactor { get; init; } = 0.5;
}

/// <summary>
/// `sending_queue`. Without <see cref="Directory"/> there is no queue: the client is acknowledged only after
/// upstream accepted (nothing in memory beyond the requests in flight). With it, batches are sealed to the
/// queue key and fsync'd in <see cref="Directory"/> before the acknowledgement, and a background sender
/// forwards them (docs/format.md §13). `storage` (file_storage) is refused: it would be plaintext at rest.
/// </summary>
internal sealed class SendingQueueSettings
{
    public bool Enabled { get; init; } = true;

    /// <summary>10 as upstream: parallel requests to upstream (without the sealed queue).</summary>
    public int NumConsumers { get; init; } = 10;

    /// <summary>1000 batches as upstream.</summary>
    public int QueueSize { get; init; } = 1000;

    /// <summary>The sealed queue's own directory (one per exporter); null = no queue.</summary>
    public string? Directory { get; init; }

    /// <summary>The queue identity (private key, created 0600 on first start); never inside <see cref="Directory"/>.</summary>
    public string? QueueKeyFile { get; init; }

    /// <summary>Queued bytes not yet forwarded; beyond it clients get a retryable refusal.</summary>
    public long MaxBacklogBytes { get; init; } = 1024L * 1024 * 1024;

    /// <summary>The sealed queue is on: enabled and a directory is configured.</summary>
    public bool IsSealedQueue => Enabled && Directory is not null && QueueKeyFile is not null;
}
