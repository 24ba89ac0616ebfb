using System.Buffers.Binary;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Query;

namespace TraceSeal.Serve;

/// <summary>One span with what the APIs render next to it.</summary>
internal sealed record SpanView(Span Span, ResourceSpans Resource, ScopeSpans Scope, string Service)
{
    public ulong Start => Span.StartTimeUnixNano;

    public ulong End => Math.Max(Span.EndTimeUnixNano, Span.StartTimeUnixNano);

    public ulong Duration => End - Start;

    public bool IsError => Span.Status?.Code == Status.Types.StatusCode.Error;
}

/// <summary>The spans of one trace (whole traces: <see cref="TraceSearch"/>), the root, and the counts a result list shows.</summary>
internal sealed class TraceView
{
    private TraceView(UInt128 id, List<SpanView> spans)
    {
        Id = id;
        Spans = spans;
        Start = spans.Min(s => s.Start);
        End = spans.Max(s => s.End);
        var ids = spans.Select(s => s.Span.SpanId).ToHashSet();
        // The root: no parent, else a parent not in the trace (still arriving, or dropped upstream); earliest first.
        Root = spans.Where(s => s.Span.ParentSpanId.IsEmpty).MinBy(s => s.Start)
               ?? spans.Where(s => !ids.Contains(s.Span.ParentSpanId)).MinBy(s => s.Start)
               ?? spans.MinBy(s => s.Start)!;
        Errors = spans.Count(s => s.IsError);
    }

    public UInt128 Id { get; }

    public string IdHex => Hex(Id);

    public List<SpanView> Spans { get; }

    public SpanView Root { get; }

    public ulong Start { get; }

    public ulong End { get; }

    public int Errors { get; }

    public ulong Duration => End - Start;

    public static string Hex(UInt128 id)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, id);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>1 to 32 hex digits, left-padded with zeros as Tempo accepts them; false for anything else.</summary>
    public static bool TryParseId(string? text, out UInt128 id)
    {
        id = 0;
        if (text is null || text.Length is 0 or > 32)
        {
            return false;
        }

        foreach (char c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        id = UInt128.Parse(text, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>Groups a result's spans by trace, newest trace first.</summary>
    public static List<TraceView> From(ExportTraceServiceRequest request)
    {
        var byTrace = new Dictionary<UInt128, List<SpanView>>();
        foreach (var rs in request.ResourceSpans)
        {
            var service = SignalSearch.ServiceName(rs.Resource);
            foreach (var ss in rs.ScopeSpans)
            {
                foreach (var span in ss.Spans)
                {
                    var id = span.TraceId.Length == 16 ? BinaryPrimitives.ReadUInt128BigEndian(span.TraceId.Span) : 0;
                    if (!byTrace.TryGetValue(id, out var list))
                    {
                        byTrace[id] = list = [];
                    }

                    list.Add(new SpanView(span, rs, ss, service));
                }
            }
        }

        return [.. byTrace.Select(kv => new TraceView(kv.Key, kv.Value)).OrderByDescending(t => t.Start).ThenBy(t => t.Id)];
    }

    /// <summary>Only this trace's spans, as one request (resource → scope → spans), for the OTLP renderings.</summary>
    public ExportTraceServiceRequest ToRequest()
    {
        var request = new ExportTraceServiceRequest();
        foreach (var group in Spans.GroupBy(s => s.Resource))
        {
            var rs = new ResourceSpans { Resource = group.Key.Resource, SchemaUrl = group.Key.SchemaUrl };
            foreach (var scope in group.GroupBy(s => s.Scope))
            {
                var ss = new ScopeSpans { Scope = scope.Key.Scope, SchemaUrl = scope.Key.SchemaUrl };
                ss.Spans.Add(scope.Select(s => s.Span));
                rs.ScopeSpans.Add(ss);
            }

            request.ResourceSpans.Add(rs);
        }

        return request;
    }
}
