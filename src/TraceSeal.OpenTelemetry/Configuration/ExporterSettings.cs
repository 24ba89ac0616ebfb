using OpenTelemetry.Exporter;

namespace TraceSeal.OpenTelemetry.Configuration;

/// <summary>The signal an exporter carries; picks the per-signal variables and the OTLP/HTTP path.</summary>
internal enum OtlpSignalKind
{
    Traces,
    Metrics,
    Logs,
}

/// <summary>A setting's value and where it came from (a variable name or <c>SecureOtlpOptions.X</c>), for messages.</summary>
internal readonly record struct Sourced(string? Value, string Source)
{
    public bool IsSet => !string.IsNullOrWhiteSpace(Value);
}

/// <summary>Everything the exporter needs, resolved and validated once at start-up.</summary>
internal sealed record ExporterSettings
{
    public required OtlpSignalKind Signal { get; init; }

    /// <summary>For OTLP/HTTP the full URL including the signal path; for gRPC scheme, host and port.</summary>
    public required Uri Endpoint { get; init; }

    public required string EndpointSource { get; init; }

    public required OtlpExportProtocol Protocol { get; init; }

    /// <summary>True only when the endpoint is http:// and INSECURE=true said so explicitly.</summary>
    public required bool Plaintext { get; init; }

    public required string InsecureSource { get; init; }

    public required Sourced CaFile { get; init; }

    public required Sourced ClientCertificateFile { get; init; }

    public required Sourced ClientKeyFile { get; init; }

    public required string? Headers { get; init; }

    public required OtlpExportCompression Compression { get; init; }

    public required TimeSpan Timeout { get; init; }

    /// <summary>The sealed disk buffer, or null when it is off.</summary>
    public BufferSettings? Buffer { get; init; }

    public string SignalName => Signal switch
    {
        OtlpSignalKind.Traces => "traces",
        OtlpSignalKind.Metrics => "metrics",
        _ => "logs",
    };
}

/// <summary>The sealed disk buffer's settings: full paths, validated (the key file is outside the directory).</summary>
internal sealed record BufferSettings(string Directory, string DirectorySource, string KeyFile, string KeyFileSource, long MaxBytes);
