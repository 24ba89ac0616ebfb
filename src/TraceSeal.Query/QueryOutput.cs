using System.Globalization;
using System.Text;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Otlp;
using TraceSeal.Storage.Format;

namespace TraceSeal.Query;

/// <summary>Renders results: OTLP/JSON (one Export*ServiceRequest), a readable span tree, or one line per log record / data point.</summary>
public static class QueryOutput
{
    /// <summary>Marks a span whose status is error, in the column before its indentation (grep '^!' finds them).</summary>
    public const char ErrorMark = '!';

    public static string ToJson(QueryResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return OtlpJson.ToJson(result.Request);
    }

    /// <summary>
    /// One OTLP/JSON ExportTraceServiceRequest written a page at a time (<see cref="TraceSearch.WholeTracesPaged"/>): the
    /// pages' resource groups go into one `resourceSpans` array, so the text is what <see cref="ToJson"/> of all the pages
    /// at once would be. Nothing is written before the first group; <see cref="End"/> closes the document.
    /// </summary>
    public sealed class JsonPages(TextWriter output)
    {
        private string? _close;

        public void Write(QueryResult page)
        {
            ArgumentNullException.ThrowIfNull(page);
            if (page.Request.ResourceSpans.Count == 0)
            {
                return;
            }

            // {"resourceSpans":[A,B]}: the object has no other field, so its first '[' and last ']' are the array's.
            var json = ToJson(page);
            int open = json.IndexOf('[', StringComparison.Ordinal), close = json.LastIndexOf(']');
            output.Write(_close is null ? json.AsSpan(0, open + 1) : ",");
            output.Write(json.AsSpan(open + 1, close - open - 1));
            output.Flush();
            _close = json[close..];
        }

        /// <summary>Closes the document (true), or says that nothing was written (false).</summary>
        public bool End()
        {
            if (_close is null)
            {
                return false;
            }

            output.Write(_close);
            output.Write('\n');
            output.Flush();
            return true;
        }
    }

    public static string ToTree(QueryResult result) => ToTree(result, verbose: false);

    /// <summary>
    /// Per trace: a header line (`trace ID  N span(s)  E error(s)  DURATION  START`), then one line per span indented by
    /// depth under its parent: `DURATION  SERVICE  NAME  [KIND, STATUS: MESSAGE]`, with <see cref="ErrorMark"/> in the first
    /// column when the span's status is error. Children in start-time order; spans whose parent is not in the result
    /// are roots. <paramref name="verbose"/> adds each span's attributes, events and links below it.
    /// </summary>
    public static string ToTree(QueryResult result, bool verbose)
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
            int errors = members.Count(s => IsError(s.Span));
            sb.Append(CultureInfo.InvariantCulture, $"trace {Convert.ToHexStringLower(members[0].Span.TraceId.Span)}  {members.Count} span(s)  {errors} error(s)  ")
              .Append(Duration(end >= start ? end - start : 0)).Append("  ")
              .Append(SignalSearch.Time(start))
              .Append('\n');
            var ids = new HashSet<ulong>(members.Select(s => SpanMatcher.Id64(s.Span.SpanId)), SpanIdComparer.Instance);
            var children = members
                .GroupBy(s => s.Span.ParentSpanId.Length == 8 && ids.Contains(SpanMatcher.Id64(s.Span.ParentSpanId)) ? SpanMatcher.Id64(s.Span.ParentSpanId) : 0UL, SpanIdComparer.Instance)
                .ToDictionary(g => g.Key, g => g.OrderBy(s => s.Span.StartTimeUnixNano).ToList(), SpanIdComparer.Instance);
            var visited = new HashSet<ulong>(SpanIdComparer.Instance);
            Write(sb, children, 0UL, 1, visited, verbose);
        }

        return sb.ToString();
    }

    /// <summary>One line per record, newest first: `TIME  SEVERITY  SERVICE  BODY  key=value...  trace=ID`.</summary>
    public static string LogLines(LogResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var sb = new StringBuilder();
        foreach (var row in result.Rows)
        {
            var log = row.Record;
            var severity = log.SeverityText.Length > 0 ? log.SeverityText : log.SeverityNumber == 0 ? "-" : log.SeverityNumber.ToString();
            sb.Append(SignalSearch.Time(row.TimeUnixNano)).Append("  ").Append(severity).Append("  ")
              .Append(row.Service.Length == 0 ? "-" : row.Service).Append("  ").Append(OneLine(SignalSearch.Render(log.Body)));
            foreach (var kv in log.Attributes)
            {
                sb.Append("  ").Append(kv.Key).Append('=').Append(OneLine(SignalSearch.Render(kv.Value)));
            }

            if (log.TraceId.Length == 16)
            {
                sb.Append("  trace=").Append(Convert.ToHexStringLower(log.TraceId.Span));
            }

            sb.Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>One line per data point: `TIME  SERVICE  METRIC  TYPE  VALUE  key=value...`.</summary>
    public static string MetricLines(MetricResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var sb = new StringBuilder();
        foreach (var row in result.Rows)
        {
            var m = row.Metric;
            void Line(string type, ulong time, string value, RepeatedField<KeyValue> attributes)
            {
                sb.Append(SignalSearch.Time(time)).Append("  ").Append(row.Service.Length == 0 ? "-" : row.Service).Append("  ")
                  .Append(m.Name).Append("  ").Append(type).Append("  ").Append(value);
                if (m.Unit.Length > 0)
                {
                    sb.Append(' ').Append(m.Unit);
                }

                foreach (var kv in attributes)
                {
                    sb.Append("  ").Append(kv.Key).Append('=').Append(OneLine(SignalSearch.Render(kv.Value)));
                }

                sb.Append('\n');
            }

            static string Number(NumberDataPoint p) => p.ValueCase == NumberDataPoint.ValueOneofCase.AsInt
                ? p.AsInt.ToString(CultureInfo.InvariantCulture)
                : p.AsDouble.ToString("G", CultureInfo.InvariantCulture);

            switch (m.DataCase)
            {
                case Metric.DataOneofCase.Gauge:
                    foreach (var p in m.Gauge.DataPoints)
                    {
                        Line("gauge", p.TimeUnixNano, Number(p), p.Attributes);
                    }

                    break;
                case Metric.DataOneofCase.Sum:
                    foreach (var p in m.Sum.DataPoints)
                    {
                        Line(m.Sum.IsMonotonic ? "counter" : "sum", p.TimeUnixNano, Number(p), p.Attributes);
                    }

                    break;
                case Metric.DataOneofCase.Histogram:
                    foreach (var p in m.Histogram.DataPoints)
                    {
                        Line("histogram", p.TimeUnixNano, string.Create(CultureInfo.InvariantCulture, $"count={p.Count} sum={p.Sum:G}"), p.Attributes);
                    }

                    break;
                case Metric.DataOneofCase.ExponentialHistogram:
                    foreach (var p in m.ExponentialHistogram.DataPoints)
                    {
                        Line("exponential_histogram", p.TimeUnixNano, string.Create(CultureInfo.InvariantCulture, $"count={p.Count} sum={p.Sum:G}"), p.Attributes);
                    }

                    break;
                case Metric.DataOneofCase.Summary:
                    foreach (var p in m.Summary.DataPoints)
                    {
                        Line("summary", p.TimeUnixNano, string.Create(CultureInfo.InvariantCulture, $"count={p.Count} sum={p.Sum:G}"), p.Attributes);
                    }

                    break;
            }
        }

        return sb.ToString();
    }

    private static bool IsError(Span span) => span.Status?.Code == Status.Types.StatusCode.Error;

    private static void Write(StringBuilder sb, Dictionary<ulong, List<(Span Span, string Service)>> children, ulong parent, int depth, HashSet<ulong> visited, bool verbose)
    {
        if (!children.TryGetValue(parent, out var list))
        {
            return;
        }

        foreach (var (span, service) in list)
        {
            var id = SpanMatcher.Id64(span.SpanId);
            ulong d = span.EndTimeUnixNano >= span.StartTimeUnixNano ? span.EndTimeUnixNano - span.StartTimeUnixNano : 0;
            sb.Append(IsError(span) ? ErrorMark : ' ').Append(' ', depth * 2 - 1).Append(Duration(d)).Append("  ")
              .Append(service.Length == 0 ? "-" : OneLine(service)).Append("  ").Append(OneLine(span.Name)).Append("  [").Append(ConditionEvaluator.KindName(span.Kind));
            var code = span.Status?.Code ?? Status.Types.StatusCode.Unset;
            if (code != Status.Types.StatusCode.Unset)
            {
                sb.Append(", ").Append(code == Status.Types.StatusCode.Error ? "ERROR" : "ok");
                if (span.Status!.Message.Length > 0)
                {
                    sb.Append(": ").Append(OneLine(span.Status.Message));
                }
            }

            sb.Append("]\n");
            if (verbose)
            {
                Details(sb, span, depth);
            }

            if (id != 0 && visited.Add(id))
            {
                Write(sb, children, id, depth + 1, visited, verbose);
            }
        }
    }

    private static void Details(StringBuilder sb, Span span, int depth)
    {
        var pad = new string(' ', depth * 2 + 4);
        sb.Append(pad).Append("span ").Append(Convert.ToHexStringLower(span.SpanId.Span)).Append('\n');
        foreach (var kv in span.Attributes)
        {
            sb.Append(pad).Append(kv.Key).Append('=').Append(OneLine(SignalSearch.Render(kv.Value))).Append('\n');
        }

        foreach (var e in span.Events)
        {
            ulong offset = e.TimeUnixNano >= span.StartTimeUnixNano ? e.TimeUnixNano - span.StartTimeUnixNano : 0;
            sb.Append(pad).Append("event +").Append(Duration(offset)).Append(' ').Append(e.Name);
            foreach (var kv in e.Attributes)
            {
                sb.Append("  ").Append(kv.Key).Append('=').Append(OneLine(SignalSearch.Render(kv.Value)));
            }

            sb.Append('\n');
        }

        foreach (var link in span.Links)
        {
            sb.Append(pad).Append("link ").Append(Convert.ToHexStringLower(link.TraceId.Span)).Append('/').Append(Convert.ToHexStringLower(link.SpanId.Span)).Append('\n');
        }
    }

    /// <summary>Values on one line: a newline in stored data must not forge the next line of the tree.</summary>
    private static string OneLine(string s) => s.Contains('\n', StringComparison.Ordinal) || s.Contains('\r', StringComparison.Ordinal)
        ? s.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)
        : s;

    private static string Duration(ulong nanos) => nanos switch
    {
        < 1_000UL => string.Create(CultureInfo.InvariantCulture, $"{nanos}ns"),
        < 1_000_000UL => string.Create(CultureInfo.InvariantCulture, $"{nanos / 1e3:0.#}us"),
        < 1_000_000_000UL => string.Create(CultureInfo.InvariantCulture, $"{nanos / 1e6:0.#}ms"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{nanos / 1e9:0.###}s"),
    };
}
