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
        if (first.SelectedTraces.Count == 0)
        {
            return first;
        }

        var second = ReadTraces(reader, first.SelectedTraces, query.Tenant);
        return new QueryResult
        {
            Request = second.Request,
            TraceCount = second.TraceCount,
            SpanCount = second.SpanCount,
            TracesOverLimit = first.TracesOverLimit,
            Skipped = [.. first.Skipped, .. second.Skipped.Where(s => !first.Skipped.Contains(s))],
        };
    }

    /// <summary>
    /// <see cref="WholeTraces"/> in pages, for answers too large to hold (`traceseal query --limit 0` over a whole store):
    /// the first pass keeps only ids, starts and span counts; then the traces, earliest first, are read a page at a time
    /// (consecutive traces up to about <paramref name="pageSpans"/> spans; a larger trace is a page of its own) and each
    /// page goes to <paramref name="page"/> before the next is read. Memory follows a page (and the ids), not the answer.
    /// Every span of a trace is in one page, so de-duplication stays exact. Each page costs a query for its ids (index
    /// lookups and the frames that hold them; the live WAL, which has no index, is read again per page). Returns the
    /// totals: traces, spans, traces over the limit, and the skipped records (each once).
    /// </summary>
    public static QueryResult WholeTracesPaged(StoreReader reader, TraceQuery query, int pageSpans, Action<QueryResult> page)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(page);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSpans, 1);
        var first = reader.SearchTraceIds(query);
        var skipped = new List<SkippedRecord>(first.Skipped);
        int traces = 0, spans = 0;
        for (int start = 0; start < first.SelectedTraces.Count;)
        {
            int end = start, budget = 0;
            do
            {
                budget += first.SelectedTraces[end++].Spans;
            }
            while (end < first.SelectedTraces.Count && budget + first.SelectedTraces[end].Spans <= pageSpans);

            var part = ReadTraces(reader, first.SelectedTraces.Skip(start).Take(end - start), query.Tenant);
            var fresh = part.Skipped.Where(s => !skipped.Contains(s)).ToList();
            skipped.AddRange(fresh);
            traces += part.TraceCount;
            spans += part.SpanCount;
            page(new QueryResult
            {
                Request = part.Request,
                TraceCount = part.TraceCount,
                SpanCount = part.SpanCount,
                TracesOverLimit = 0,
                Skipped = start == 0 ? [.. first.Skipped, .. fresh] : fresh,
            });
            start = end;
        }

        return new QueryResult
        {
            Request = new(),
            TraceCount = traces,
            SpanCount = spans,
            TracesOverLimit = first.TracesOverLimit,
            Skipped = skipped,
        };
    }

    /// <summary>The second pass: every span of these traces (seeded hashing: the ids are client-chosen).</summary>
    private static QueryResult ReadTraces(StoreReader reader, IEnumerable<SelectedTrace> traces, string? tenant) =>
        reader.Query(new TraceQuery { TraceIds = new HashSet<UInt128>(traces.Select(t => t.Id), TraceIdComparer.Instance), Tenant = tenant, Limit = 0 });

    /// <summary>Whether one span meets every filter of <paramref name="query"/> (to mark the matching spans of a whole trace).</summary>
    public static Func<Span, ResourceSpans, bool> Predicate(TraceQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var matcher = new SpanMatcher(query with { TraceId = null, TraceIds = null });
        return matcher.Matches;
    }
}
