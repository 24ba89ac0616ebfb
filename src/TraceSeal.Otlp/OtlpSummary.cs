namespace TraceSeal.Otlp;

/// <summary>What the validator counted in one export request.</summary>
public struct OtlpSummary
{
    /// <summary>Spans, metric data points (all kinds) or log records.</summary>
    public int ItemCount;

    /// <summary>Smallest span start time (traces only); 0 when there are no spans.</summary>
    public ulong MinStartTimeUnixNano;

    /// <summary>Largest span end time (traces only); 0 when there are no spans.</summary>
    public ulong MaxEndTimeUnixNano;
}
