using System.Globalization;
using System.Text;
using Google.Protobuf;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Otlp;
using TraceSeal.Storage.Format;

namespace TraceSeal.Query;

/// <summary>Renders a <see cref="QueryResult"/>: OTLP/JSON (one ExportTraceServiceRequest) or a readable span tree.</summary>
public static class QueryOutput
{
    public static string ToJson(QueryResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return OtlpJson.ToJson(result.Request.ToByteArray(), OtlpSignal.Traces);
    }

    /// <summary>
    /// Per trace: a header line, then one line per span indented by depth under its parent:
    /// `duration  service  name`. Children in start-time order; spans whose parent is not in the result are roots.
    /// </summary>
    public static string ToTree(QueryResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var spans = new List<(Span Span, string Service)>();
        foreach (var rs in result.Request.ResourceSpans)
        {
            var service = SpanMatcher.ServiceName(rs);
            foreach (var ss in rs.ScopeSpans)
            {
                foreach (var span in ss.Spans)
                {
                    spans.Add((span, service));
                }
            }
        }

        var sb = new StringBuilder();
        foreach (var trace in spans.GroupBy(s => SpanMatcher.Id128(s.Span.TraceId), TraceIdComparer.Instance).OrderBy(g => g.Min(s => s.Span.StartTimeUnixNano)))
        {
            var members = trace.ToList();
            ulong start = members.Min(s => s.Span.StartTimeUnixNano);
            ulong end = members.Max(s => s.Span.EndTimeUnixNano);
            sb.Append(CultureInfo.InvariantCulture, $"trace {Convert.ToHexStringLower(members[0].Span.TraceId.Span)}  {members.Count} span(s)  ")
              .Append(Duration(end >= start ? end - start : 0)).Append("  ")
              .Append(DateTimeOffset.UnixEpoch.AddTicks((long)(start / 100)).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture))
              .Append('\n');
            var ids = new HashSet<ulong>(members.Select(s => SpanMatcher.Id64(s.Span.SpanId)), SpanIdComparer.Instance);
            var children = members
                .GroupBy(s => s.Span.ParentSpanId.Length == 8 && ids.Contains(SpanMatcher.Id64(s.Span.ParentSpanId)) ? SpanMatcher.Id64(s.Span.ParentSpanId) : 0UL, SpanIdComparer.Instance)
                .ToDictionary(g => g.Key, g => g.OrderBy(s => s.Span.StartTimeUnixNano).ToList(), SpanIdComparer.Instance);
            var visited = new HashSet<ulong>(SpanIdComparer.Instance);
            Write(sb, children, 0UL, 1, visited);
        }

        return sb.ToString();
    }

    private static void Write(StringBuilder sb, Dictionary<ulong, List<(Span Span, string Service)>> children, ulong parent, int depth, HashSet<ulong> visited)
    {
        if (!children.TryGetValue(parent, out var list))
        {
            return;
        }

        foreach (var (span, service) in list)
        {
            var id = SpanMatcher.Id64(span.SpanId);
            ulong d = span.EndTimeUnixNano >= span.StartTimeUnixNano ? span.EndTimeUnixNano - span.StartTimeUnixNano : 0;
            sb.Append(' ', depth * 2).Append(Duration(d)).Append("  ").Append(service.Length == 0 ? "-" : service).Append("  ").Append(span.Name).Append('\n');
            if (id != 0 && visited.Add(id))
            {
                Write(sb, children, id, depth + 1, visited);
            }
        }
    }

    private static string Duration(ulong nanos) => nanos switch
    {
        < 1_000UL => string.Create(CultureInfo.InvariantCulture, $"{nanos}ns"),
        < 1_000_000UL => string.Create(CultureInfo.InvariantCulture, $"{nanos / 1e3:0.#}us"),
        < 1_000_000_000UL => string.Create(CultureInfo.InvariantCulture, $"{nanos / 1e6:0.#}ms"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{nanos / 1e9:0.###}s"),
    };
}
