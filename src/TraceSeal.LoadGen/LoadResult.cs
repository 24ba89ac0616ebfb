namespace TraceSeal.LoadGen;

/// <summary>What a run measured. Rates are over <see cref="ElapsedSeconds"/>, which includes draining in-flight requests.</summary>
internal sealed record LoadResult
{
    public required string Protocol { get; init; }

    public required string Endpoint { get; init; }

    public required int SpansPerRequest { get; init; }

    public required int Connections { get; init; }

    public required int Concurrency { get; init; }

    public required double TargetRate { get; init; }

    public required int RequestBytes { get; init; }

    public required double ElapsedSeconds { get; init; }

    /// <summary>Acknowledged requests (HTTP 200, or grpc-status 0).</summary>
    public required long Requests { get; init; }

    /// <summary>Spans in acknowledged requests: what the server has taken responsibility for.</summary>
    public required long Spans { get; init; }

    public required IReadOnlyDictionary<string, long> ErrorsByStatus { get; init; }

    /// <summary>Latency of acknowledged requests, microseconds.</summary>
    public required long P50Micros { get; init; }

    public required long P90Micros { get; init; }

    public required long P99Micros { get; init; }

    public required long MaxMicros { get; init; }

    /// <summary>CPU used by this process over the run, in cores: near 1.0 on a pinned core means the client was the limit.</summary>
    public required double ClientCpuCores { get; init; }

    public long Errors => ErrorsByStatus.Values.Sum();

    public double SpansPerSecond => ElapsedSeconds > 0 ? Spans / ElapsedSeconds : 0;

    public double RequestsPerSecond => ElapsedSeconds > 0 ? Requests / ElapsedSeconds : 0;
}
