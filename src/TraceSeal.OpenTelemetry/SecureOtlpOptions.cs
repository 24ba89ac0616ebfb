using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace TraceSeal.OpenTelemetry;

/// <summary>
/// Options of <c>AddSecureOtlpExporter</c>. Everything has a secure default; the connection itself (endpoint,
/// protocol, CA, client certificate and key, headers, compression, timeout, insecure) normally comes from the
/// OpenTelemetry environment variables (<c>OTEL_EXPORTER_OTLP_*</c>, per-signal variants first). A property set
/// here wins over the variable and is named <c>SecureOtlpOptions.X</c> in error messages.
/// </summary>
public sealed class SecureOtlpOptions
{
    /// <summary>Where the <c>OTEL_EXPORTER_OTLP_*</c> keys are read. Default: the <see cref="IConfiguration"/> of the
    /// provider's service collection (the SDK adds the environment variables to it), else the process environment.</summary>
    public IConfiguration? Configuration { get; set; }

    /// <summary>Overrides OTEL_EXPORTER_OTLP_[SIGNAL_]ENDPOINT. Used as given (no signal path is appended).</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Overrides OTEL_EXPORTER_OTLP_[SIGNAL_]PROTOCOL: <c>grpc</c> or <c>http/protobuf</c>.</summary>
    public string? Protocol { get; set; }

    /// <summary>Overrides OTEL_EXPORTER_OTLP_[SIGNAL_]CERTIFICATE: the PEM file of the CA the server certificate must chain to.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>Overrides OTEL_EXPORTER_OTLP_[SIGNAL_]CLIENT_CERTIFICATE.</summary>
    public string? ClientCertificateFile { get; set; }

    /// <summary>Overrides OTEL_EXPORTER_OTLP_[SIGNAL_]CLIENT_KEY.</summary>
    public string? ClientKeyFile { get; set; }

    /// <summary>Overrides OTEL_EXPORTER_OTLP_[SIGNAL_]HEADERS (<c>key=value,key2=value2</c>, values URL-encoded).</summary>
    public string? Headers { get; set; }

    /// <summary>Overrides OTEL_EXPORTER_OTLP_[SIGNAL_]COMPRESSION: <c>gzip</c> or <c>none</c>.</summary>
    public string? Compression { get; set; }

    /// <summary>Overrides OTEL_EXPORTER_OTLP_[SIGNAL_]TIMEOUT: the deadline for one batch, retries included.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>Overrides OTEL_EXPORTER_OTLP_[SIGNAL_]INSECURE. Only <c>true</c> permits a plaintext <c>http://</c> endpoint.</summary>
    public bool? Insecure { get; set; }

    /// <summary>Spans or log records held in memory while the exporter is busy; beyond it new items are dropped
    /// (and counted). 2048, the specification's default, set explicitly so the bound is never implicit.</summary>
    public int MaxQueueSize { get; set; } = 2048;

    /// <summary>Items per export request. 512, the specification's default.</summary>
    public int MaxExportBatchSize { get; set; } = 512;

    /// <summary>How long the batch processor waits to fill a batch. 5 s, the specification's default.</summary>
    public TimeSpan ScheduledDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Metrics only: how often the periodic reader exports. 60 s, the specification's default.</summary>
    public TimeSpan MetricExportInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the CA, client certificate and key files are checked for changes in addition to file
    /// system notifications (which miss changes on some volumes, e.g. Kubernetes secret symlink swaps). 30 s.</summary>
    public TimeSpan CertificateReloadInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>First retry backoff; it grows by 1.5x per attempt up to <see cref="MaxRetryBackoff"/>, with jitter. 1 s.</summary>
    public TimeSpan InitialRetryBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Largest backoff between two attempts (a server's RetryInfo / Retry-After is honoured as given, within the deadline). 5 s.</summary>
    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The optional sealed disk buffer for batches that failed after the retries; overrides the
    /// <c>TRACESEAL_OTLP_BUFFER_*</c> variables. Off unless a directory is set here or in <c>TRACESEAL_OTLP_BUFFER_DIRECTORY</c>.</summary>
    public SecureDiskBufferOptions? DiskBuffer { get; set; }

    /// <summary>Where the exporter logs. Default: the provider's <see cref="ILoggerFactory"/>, if it has one.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}
