namespace TraceSeal.Query;

/// <summary>What to look for. Every set filter must hold for a span to match; null = no filter.</summary>
public sealed class TraceQuery
{
    /// <summary>16 bytes.</summary>
    public byte[]? TraceId { get; init; }

    /// <summary>Resource attribute service.name.</summary>
    public string? Service { get; init; }

    public string? SpanName { get; init; }

    /// <summary>Spans that overlap [From, To].</summary>
    public DateTimeOffset? From { get; init; }

    public DateTimeOffset? To { get; init; }

    public TimeSpan? MinDuration { get; init; }

    public TimeSpan? MaxDuration { get; init; }

    /// <summary>Equality on span attributes, else resource attributes (string, int, bool or double rendered invariantly).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Attributes { get; init; } = [];

    /// <summary>Only this tenant; null = every tenant in the store.</summary>
    public string? Tenant { get; init; }

    /// <summary>At most this many traces (the most recent ones); 0 = no limit.</summary>
    public int Limit { get; init; } = 20;

    internal ulong FromNano => From is { } f ? ToNano(f) : 0;

    internal ulong ToNanoOrMax => To is { } t ? ToNano(t) : ulong.MaxValue;

    private static ulong ToNano(DateTimeOffset t) =>
        t.ToUnixTimeMilliseconds() <= 0 ? 0 : (ulong)(t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100UL;
}
