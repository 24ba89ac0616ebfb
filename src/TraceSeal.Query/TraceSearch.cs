using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Storage.Format;

namespace TraceSeal.Query;

/// <summary>
/// Filters select traces; results are whole traces. The first pass keeps only the ids of the traces with a matching
/// span (the most recent <see cref="TraceQuery.Limit"/>): it reads the blocks the summaries do not rule out newest
/// first and stops once no older block can bring a more recent trace (<see cref="StoreReader.SearchTraceIds"/>), so
/// its cost follows the answer, not the store. The second reads every span of those traces and nothing else: blocks
/// whose summary's trace-id filter and index list none of them are skipped, and of the others only the frames that
/// hold them are read (§12, §15). A trace's other spans may sit in blocks the first pass ruled out (another service,
/// another hour), which is why there is a second pass.
/// </summary>
public static class TraceSearch
{
    public static QueryResult WholeTraces(StoreReader reader, TraceQuery query)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(query);
        var first = reader.SearchTraceIds(query);
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
