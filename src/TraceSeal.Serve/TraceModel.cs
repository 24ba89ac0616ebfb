using System.Buffers.Binary;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Query;
using TraceSeal.Storage.Format;

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
        // Span ids are client-chosen: a seeded full-width hash over the 64-bit value (ByteString's own hash is a fixed
        // polynomial, so colliding ids are easy to make; IdComparers.cs says why the default ulong hash is no better).
        var ids = new HashSet<ulong>(spans.Count, SpanIdComparer.Instance);
        foreach (var s in spans)
        {
            if (s.Span.SpanId.Length == 8)
            {
                ids.Add(SpanId(s.Span.SpanId));
            }
        }

        // The root: no parent, else a parent not in the trace (still arriving, or dropped upstream); earliest first.
        Root = spans.Where(s => s.Span.ParentSpanId.IsEmpty).MinBy(s => s.Start)
               ?? spans.Where(s => s.Span.ParentSpanId.Length != 8 || !ids.Contains(SpanId(s.Span.ParentSpanId))).MinBy(s => s.Start)
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
        // Keyed by client-chosen trace ids: seeded full-width hashing (UInt128's default folds X‖X‖Y‖Y ids to one bucket).
        var byTrace = new Dictionary<UInt128, List<SpanView>>(TraceIdComparer.Instance);
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
        // By reference: a protobuf message's own Equals and GetHashCode walk all its content (every span of the
        // group), which made this quadratic in the spans of one resource.
        var request = new ExportTraceServiceRequest();
        foreach (var group in Spans.GroupBy<SpanView, ResourceSpans>(s => s.Resource, ReferenceEqualityComparer.Instance))
        {
            var rs = new ResourceSpans { Resource = group.Key.Resource, SchemaUrl = group.Key.SchemaUrl };
            foreach (var scope in group.GroupBy<SpanView, ScopeSpans>(s => s.Scope, ReferenceEqualityComparer.Instance))
            {
                var ss = new ScopeSpans { Scope = scope.Key.Scope, SchemaUrl = scope.Key.SchemaUrl };
                ss.Spans.Add(scope.Select(s => s.Span));
                rs.ScopeSpans.Add(ss);
            }

            request.ResourceSpans.Add(rs);
        }

        return request;
    }

    private static ulong SpanId(Google.Protobuf.ByteString id) => BinaryPrimitives.ReadUInt64BigEndian(id.Span);
}
