namespace TraceSeal.LoadGen;

/// <summary>
/// One load run. Defaults are those of the benchmark scripts; <see cref="Validate"/> reports every problem at once.
/// </summary>
internal sealed record LoadOptions
{
    /// <summary>Base URL, e.g. <c>https://127.0.0.1:4317</c>; the OTLP path is appended per protocol.</summary>
    public required Uri Endpoint { get; init; }

    public LoadProtocol Protocol { get; init; } = LoadProtocol.HttpProtobuf;

    public required string CaFile { get; init; }

    /// <summary>Client certificate and key (PEM). Both or neither: without them the run is server-authenticated TLS only.</summary>
    public string? CertFile { get; init; }

    public string? KeyFile { get; init; }

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(20);

    public int SpansPerRequest { get; init; } = 100;

    /// <summary>Target requests per second over all workers; 0 sends as fast as responses come back.</summary>
    public double Rate { get; init; }

    public int Connections { get; init; } = 4;

    /// <summary>Requests in flight per connection (HTTP/2 streams; with HTTP/1.1 each one is its own TCP connection).</summary>
    public int Concurrency { get; init; } = 4;

    public int AttributesPerSpan { get; init; } = 4;

    public int AttributeBytes { get; init; } = 16;

    /// <summary>HTTP/2 by default: gRPC needs it, and it lets one connection carry <see cref="Concurrency"/> requests.</summary>
    public bool Http11 { get; init; }

    /// <summary>Bounds a single request so a stalled server cannot hold the run open past its duration for long.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public int Workers => Connections * Concurrency;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Endpoint.IsAbsoluteUri || Endpoint.Scheme != Uri.UriSchemeHttps)
        {
            errors.Add($"--endpoint {Endpoint}: must be an https:// URL; loadgen never sends telemetry in plaintext");
        }

        if (!File.Exists(CaFile))
        {
            errors.Add($"--ca {CaFile}: file not found; it must hold the CA that signed the server certificate");
        }

        if ((CertFile is null) != (KeyFile is null))
        {
            errors.Add("--cert and --key go together: the client certificate and its private key");
        }

        foreach (var (flag, path) in new[] { ("--cert", CertFile), ("--key", KeyFile) })
        {
            if (path is not null && !File.Exists(path))
            {
                errors.Add($"{flag} {path}: file not found");
            }
        }

        if (Protocol == LoadProtocol.Grpc && Http11)
        {
            errors.Add("--http1.1 cannot carry gRPC, which needs HTTP/2");
        }

        Range(errors, "--spans-per-request", SpansPerRequest, 1, 100_000);
        Range(errors, "--connections", Connections, 1, 1024);
        Range(errors, "--concurrency", Concurrency, 1, 1024);
        Range(errors, "--attributes", AttributesPerSpan, 0, 128);
        Range(errors, "--attribute-bytes", AttributeBytes, 0, 64 * 1024);
        if (Rate < 0 || double.IsNaN(Rate))
        {
            errors.Add("--rate must be 0 (as fast as possible) or a positive number of requests per second");
        }

        if (Duration <= TimeSpan.Zero)
        {
            errors.Add("--duration must be positive, e.g. 20s");
        }

        return errors;
    }

    private static void Range(List<string> errors, string flag, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{flag} {value}: must be between {min} and {max}");
        }
    }
}
