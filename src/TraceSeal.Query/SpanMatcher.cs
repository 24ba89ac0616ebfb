using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Otlp;
using TraceSeal.Storage.Format;

namespace TraceSeal.Query;

/// <summary>
/// The spans a query found, grouped as they were received (resource → scope → spans). The groups are in time order:
/// by the earliest start of their spans, ties by their smallest trace id, then span id; spans inside a group stay as received.
/// </summary>
public sealed class QueryResult
{
    public required ExportTraceServiceRequest Request { get; init; }

    public required int TraceCount { get; init; }

    public required int SpanCount { get; init; }

    /// <summary>Traces that matched but were left out by the limit.</summary>
    public required int TracesOverLimit { get; init; }

    /// <summary>
    /// Records that opened and authenticated but could not be decoded as OTLP: reported by object and skipped, so one
    /// such record does not hide every other span of its tenant. (Integrity failures are never skipped: they throw.)
    /// </summary>
    public IReadOnlyList<SkippedRecord> Skipped { get; init; } = [];

    /// <summary>
    /// The first pass of a whole-trace search: the traces kept (after the limit), earliest first (by their earliest
    /// matching span, ties by id), with the spans counted for each (a span stored twice counts twice); the request is empty.
    /// </summary>
    internal IReadOnlyList<SelectedTrace> SelectedTraces { get; init; } = [];
}

/// <summary>A trace the first pass of a search kept: its id, its earliest matching span's start, the matching spans it read.</summary>
internal readonly record struct SelectedTrace(UInt128 Id, ulong Start, int Spans);

/// <summary>A record that was read and authenticated but not decodable: the object it is in, its signal, and why.</summary>
public sealed record SkippedRecord(string ObjectPath, OtlpSignal Signal, string Reason);

/// <summary>Applies a <see cref="TraceQuery"/> to trace records; keeps the matching spans with their resource and scope.</summary>
internal sealed class SpanMatcher(TraceQuery query)
{
    private readonly List<ResourceSpans> _matched = [];
    // Keyed by client-chosen ids: seeded full-width hashes, or ids crafted to collide make the tables quadratic.
    private readonly HashSet<(UInt128 Trace, ulong Span)> _seen = new(SpanKeyComparer.Instance);
    private readonly Dictionary<UInt128, ulong> _traceStart = new(TraceIdComparer.Instance);
    private readonly Dictionary<UInt128, int> _traceSpans = new(TraceIdComparer.Instance); // ids only: spans per trace
    private readonly UInt128? _traceId = query.TraceId is { Length: 16 } id ? BinaryPrimitives.ReadUInt128BigEndian(id) : null;
    private readonly List<SkippedRecord> _skipped = [];
    private ulong _oldestWanted;
    private int _oldestWantedAt = -1;

    public void Add(StoredRecord record)
    {
        if (!RecordParser.TryParse(ExportTraceServiceRequest.Parser, record, _skipped, out var request))
        {
            return;
        }

        foreach (var rs in request.ResourceSpans)
        {
            var service = ServiceName(rs);
            if (query.Service is not null && !string.Equals(service, query.Service, StringComparison.Ordinal))
            {
                continue;
            }

            ResourceSpans? outRs = null;
            foreach (var ss in rs.ScopeSpans)
            {
                ScopeSpans? outSs = null;
                foreach (var span in ss.Spans)
                {
                    if (!Matches(span, rs))
                    {
                        continue;
                    }

                    var traceId = Id128(span.TraceId);
                    if (query.IdsOnly)
                    {
                        _traceStart[traceId] = _traceStart.TryGetValue(traceId, out var first) ? Math.Min(first, span.StartTimeUnixNano) : span.StartTimeUnixNano;
                        CollectionsMarshal.GetValueRefOrAddDefault(_traceSpans, traceId, out _)++;
                        continue;
                    }

                    if (!_seen.Add((traceId, Id64(span.SpanId))))
                    {
                        continue; // the same span stored twice (a client retry, or a block and its recovered WAL)
                    }

                    _traceStart[traceId] = _traceStart.TryGetValue(traceId, out var s) ? Math.Min(s, span.StartTimeUnixNano) : span.StartTimeUnixNano;
                    if (outSs is null)
                    {
                        outSs = new ScopeSpans { Scope = ss.Scope, SchemaUrl = ss.SchemaUrl };
                        outRs ??= new ResourceSpans { Resource = rs.Resource, SchemaUrl = rs.SchemaUrl };
                        outRs.ScopeSpans.Add(outSs);
                    }

                    outSs.Spans.Add(span);
                }
            }

            if (outRs is not null)
            {
                _matched.Add(outRs);
            }
        }
    }

    /// <summary>
    /// How recent (start, Unix ns) a span must be to matter now: with <see cref="TraceQuery.Limit"/> traces found, a
    /// span that started before the earliest start of the limit-th most recent one cannot bring a new trace into the
    /// answer. 0 while fewer have been found, or with no limit. (A trace already found keeps its place even if an
    /// older block held an earlier span of it: the search stops without reading that block.)
    /// </summary>
    public ulong OldestWanted()
    {
        if (query.Limit <= 0 || _traceStart.Count < query.Limit)
        {
            return 0;
        }

        if (_traceStart.Count != _oldestWantedAt)
        {
            var starts = new ulong[_traceStart.Count];
            _traceStart.Values.CopyTo(starts, 0);
            Array.Sort(starts);
            _oldestWanted = starts[^query.Limit];
            _oldestWantedAt = _traceStart.Count;
        }

        return _oldestWanted;
    }

    public QueryResult Result()
    {
        HashSet<UInt128>? keep = null;
        int over = 0;
        if (query.Limit > 0 && _traceStart.Count > query.Limit)
        {
            // The most recent traces (by their earliest matching span).
            var ordered = _traceStart.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).ToList();
            keep = new HashSet<UInt128>(ordered.Take(query.Limit).Select(kv => kv.Key), TraceIdComparer.Instance);
            over = _traceStart.Count - query.Limit;
        }

        if (query.IdsOnly)
        {
            var ids = new List<SelectedTrace>(keep?.Count ?? _traceStart.Count);
            foreach (var (id, start) in _traceStart)
            {
                if (keep is null || keep.Contains(id))
                {
                    ids.Add(new SelectedTrace(id, start, _traceSpans.GetValueOrDefault(id)));
                }
            }

            ids.Sort(static (a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.Id.CompareTo(b.Id));
            return new QueryResult
            {
                Request = new ExportTraceServiceRequest(),
                TraceCount = ids.Count,
                SpanCount = 0,
                TracesOverLimit = over,
                Skipped = _skipped,
                SelectedTraces = ids,
            };
        }

        var groups = new List<(ulong Start, UInt128 TraceId, ulong SpanId, int Read, ResourceSpans Spans)>(_matched.Count);
        int spans = 0;
        foreach (var rs in _matched)
        {
            if (keep is not null)
            {
                foreach (var ss in rs.ScopeSpans)
                {
                    var kept = ss.Spans.Where(s => keep.Contains(Id128(s.TraceId))).ToList();
                    ss.Spans.Clear();
                    ss.Spans.Add(kept);
                }

                var scopes = rs.ScopeSpans.Where(ss => ss.Spans.Count > 0).ToList();
                rs.ScopeSpans.Clear();
                rs.ScopeSpans.Add(scopes);
                if (scopes.Count == 0)
                {
                    continue;
                }
            }

            ulong start = ulong.MaxValue;
            UInt128 traceId = UInt128.MaxValue;
            ulong spanId = ulong.MaxValue;
            foreach (var ss in rs.ScopeSpans)
            {
                foreach (var span in ss.Spans)
                {
                    start = Math.Min(start, span.StartTimeUnixNano);
                    traceId = UInt128.Min(traceId, Id128(span.TraceId));
                    spanId = Math.Min(spanId, Id64(span.SpanId));
                }

                spans += ss.Spans.Count;
            }

            groups.Add((start, traceId, spanId, groups.Count, rs));
        }

        // Time order, not read order: a store's objects are read by creation second, then by name, and a name is a
        // random id (v2: blocks cut in the same second come back in any order). A group's place is the earliest
        // start of its spans, ties by its smallest trace id, then span id (then read order); spans inside a group stay
        // as received.
        groups.Sort(static (a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start)
            : a.TraceId != b.TraceId ? a.TraceId.CompareTo(b.TraceId)
            : a.SpanId != b.SpanId ? a.SpanId.CompareTo(b.SpanId)
            : a.Read.CompareTo(b.Read));
        var request = new ExportTraceServiceRequest();
        foreach (var group in groups)
        {
            request.ResourceSpans.Add(group.Spans);
        }

        return new QueryResult
        {
            Request = request,
            TraceCount = keep?.Count ?? _traceStart.Count,
            SpanCount = spans,
            TracesOverLimit = over,
            Skipped = _skipped,
        };
    }

    internal static string ServiceName(ResourceSpans rs)
    {
        if (rs.Resource is not null)
        {
            foreach (var kv in rs.Resource.Attributes)
            {
                if (kv.Key == "service.name" && kv.Value?.ValueCase == AnyValue.ValueOneofCase.StringValue)
                {
                    return kv.Value.StringValue;
                }
            }
        }

        return "";
    }

    internal static UInt128 Id128(ByteString id) => id.Length == 16 ? BinaryPrimitives.ReadUInt128BigEndian(id.Span) : 0;

    internal static ulong Id64(ByteString id) => id.Length == 8 ? BinaryPrimitives.ReadUInt64BigEndian(id.Span) : 0;

    internal bool Matches(Span span, ResourceSpans rs)
    {
        if (_traceId is { } t && Id128(span.TraceId) != t)
        {
            return false;
        }

        if (query.TraceIds is { } set && !set.Contains(Id128(span.TraceId)))
        {
            return false;
        }

        if (query.Service is not null && !string.Equals(ServiceName(rs), query.Service, StringComparison.Ordinal))
        {
            return false;
        }

        if (query.Status is { } status && (int)(span.Status?.Code ?? Status.Types.StatusCode.Unset) != (int)status)
        {
            return false;
        }

        foreach (var condition in query.Conditions)
        {
            if (!ConditionEvaluator.Holds(condition, span, rs))
            {
                return false;
            }
        }

        if (query.SpanName is not null && !string.Equals(span.Name, query.SpanName, StringComparison.Ordinal))
        {
            return false;
        }

        if (span.EndTimeUnixNano < query.FromNano || span.StartTimeUnixNano > query.ToNanoOrMax)
        {
            return false;
        }

        ulong duration = span.EndTimeUnixNano >= span.StartTimeUnixNano ? span.EndTimeUnixNano - span.StartTimeUnixNano : 0;
        if ((query.MinDuration is { } min && duration < (ulong)min.Ticks * 100UL)
            || (query.MaxDuration is { } max && duration > (ulong)max.Ticks * 100UL))
        {
            return false;
        }

        foreach (var (key, value) in query.Attributes)
        {
            if (!HasAttribute(span.Attributes, key, value) && !(rs.Resource is not null && HasAttribute(rs.Resource.Attributes, key, value)))
            {
                return false;
            }
        }

        return true;
    }

    internal static bool HasAttribute(IEnumerable<KeyValue> attributes, string key, string value)
    {
        foreach (var kv in attributes)
        {
            if (kv.Key == key && kv.Value is not null && string.Equals(Render(kv.Value), value, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    internal static string? Render(AnyValue v) => v.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => v.StringValue,
        AnyValue.ValueOneofCase.IntValue => v.IntValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.BoolValue => v.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.DoubleValue => v.DoubleValue.ToString("R", CultureInfo.InvariantCulture),
        _ => null,
    };
}
