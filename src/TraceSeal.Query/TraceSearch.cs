using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Storage.Format;

namespace TraceSeal.Query;

/// <summary>
/// Filters select traces; results are whole traces. Two passes over the store: the first keeps only the ids of the
/// traces with a matching span (the most recent <see cref="TraceQuery.Limit"/>), the second reads every span of
/// those traces and nothing else (blocks whose index lists none of them are skipped, §12). A trace's other spans may
/// sit in blocks the first pass ruled out (another service, another hour), which is why it is a second pass.
/// </summary>
public static class TraceSearch
{
    public static QueryResult WholeTraces(StoreReader reader, TraceQuery query)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(query);
        var first = reader.Query(query with { IdsOnly = true });
        if (first.SelectedTraceIds.Count == 0)
        {
            return first;
        }

        var ids = new HashSet<UInt128>(first.SelectedTraceIds, TraceIdComparer.Instance);
        var second = reader.Query(new TraceQuery { TraceIds = ids, Tenant = query.Tenant, Limit = 0 });
        return new QueryResult
        {
            Request = second.Request,
            TraceCount = second.TraceCount,
            SpanCount = second.SpanCount,
            TracesOverLimit = first.TracesOverLimit,
            Skipped = [.. first.Skipped, .. second.Skipped.Where(s => !first.Skipped.Contains(s))],
        };
    }

    /// <summary>Whether one span meets every filter of <paramref name="query"/> (to mark the matching spans of a whole trace).</summary>
    public static Func<Span, ResourceSpans, bool> Predicate(TraceQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var matcher = new SpanMatcher(query with { TraceId = null, TraceIds = null });
        return matcher.Matches;
    }
}
