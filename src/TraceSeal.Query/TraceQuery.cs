namespace TraceSeal.Query;

/// <summary>What to look for. Every set filter must hold for a span to match; null = no filter.</summary>
public sealed record TraceQuery
{
    /// <summary>16 bytes.</summary>
    public byte[]? TraceId { get; init; }

    /// <summary>Any of these trace ids (big-endian 128-bit values); null = no filter. Blocks whose index lists none of them are not read.</summary>
    public IReadOnlySet<UInt128>? TraceIds { get; init; }

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

    /// <summary>Comparisons on attributes and intrinsics (name, status, kind, duration): the TraceQL subset of `serve`.</summary>
    public IReadOnlyList<SpanCondition> Conditions { get; init; } = [];

    /// <summary>Only spans with this status code (OTLP Status.code: unset 0, ok 1, error 2).</summary>
    public SpanStatus? Status { get; init; }

    /// <summary>Only this tenant; null = every tenant in the store.</summary>
    public string? Tenant { get; init; }

    /// <summary>At most this many traces (the most recent ones); 0 = no limit.</summary>
    public int Limit { get; init; } = 20;

    /// <summary>The first pass of a whole-trace search: keep only which traces matched, not their spans.</summary>
    internal bool IdsOnly { get; init; }

    internal ulong FromNano => From is { } f ? ToNano(f) : 0;

    internal ulong ToNanoOrMax => To is { } t ? ToNano(t) : ulong.MaxValue;

    private static ulong ToNano(DateTimeOffset t) =>
        t.ToUnixTimeMilliseconds() <= 0 ? 0 : (ulong)(t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100UL;
}

/// <summary>OTLP Status.code values.</summary>
public enum SpanStatus
{
    Unset = 0,
    Ok = 1,
    Error = 2,
}

/// <summary>Where a condition's key is looked up: TraceQL's `span.`, `resource.`, `.` (either) or an intrinsic.</summary>
public enum ConditionScope
{
    /// <summary>`.key`: span attributes, else resource attributes.</summary>
    Any,
    Span,
    Resource,

    /// <summary>name, status, kind, duration (the key says which).</summary>
    Intrinsic,
}

public enum ConditionOperator
{
    Equal,
    NotEqual,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
    Matches,
    NotMatches,
}

/// <summary>
/// One comparison. <see cref="Value"/> is text as written (quotes removed); numbers compare as numbers when both sides
/// are numeric, durations (intrinsic `duration`) in nanoseconds (<see cref="Nanos"/>), everything else as ordinal text.
/// A missing attribute matches nothing, not even `!=`.
/// </summary>
public sealed record SpanCondition(ConditionScope Scope, string Key, ConditionOperator Operator, string Value)
{
    /// <summary>For `duration`: the value in nanoseconds.</summary>
    public ulong Nanos { get; init; }

    /// <summary>For =~ and !~: the compiled pattern (set by the parser; bounded by a match timeout).</summary>
    public System.Text.RegularExpressions.Regex? Pattern { get; init; }
}
