using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using OpenTelemetry.Proto.Common.V1;
using TraceSeal.Collector.Config;
using TraceSeal.Otlp;
using TraceSeal.Query;

namespace TraceSeal.Serve.Tempo;

/// <summary>
/// The Tempo HTTP API at the root, as Grafana's Tempo data source calls it (field names as Tempo's API documents them).
/// What is not supported is listed in docs/operations.md ("serve: what of the Tempo and Jaeger APIs is not supported").
/// </summary>
internal sealed class TempoApi(TraceStore store)
{
    public const string ProtobufType = "application/protobuf";

    /// <summary>Tempo's search default, and the most a request may ask for.</summary>
    public const int DefaultLimit = 20;
    public const int MaxLimit = 1000;

    /// <summary>Spans shown per span set (Tempo's `spss`, default 3).</summary>
    public const int DefaultSpansPerSpanSet = 3;

    /// <summary>What Grafana's data source reads to pick its features (a Tempo 2.x answer: v2 tags and TraceQL).</summary>
    public static Task BuildInfo(HttpContext context) => ServeJson.Write(context, 200, w =>
    {
        w.WriteString("version", "2.6.0");
        w.WriteString("revision", "traceseal");
        w.WriteString("branch", "");
        w.WriteString("buildUser", "");
        w.WriteString("buildDate", "");
        w.WriteString("goVersion", "");
    });

    /// <summary>GET /api/traces/{id} (v1: {"batches": [...]}) and /api/v2/traces/{id} (v2: {"trace": {...}}); protobuf when asked for.</summary>
    public async Task TraceById(HttpContext context, string id, bool v2)
    {
        if (!TraceView.TryParseId(id, out var traceId))
        {
            await ServeJson.Error(context, 400, "invalid trace id: expected up to 32 hex digits").ConfigureAwait(false);
            return;
        }

        var trace = await store.TraceAsync(traceId, context.RequestAborted).ConfigureAwait(false);
        if (trace is null)
        {
            await ServeJson.Error(context, 404, "trace not found").ConfigureAwait(false);
            return;
        }

        var request = trace.ToRequest();
        if (WantsProtobuf(context))
        {
            // tempopb.Trace is `repeated ResourceSpans batches = 1`: the same bytes as an ExportTraceServiceRequest.
            // tempopb.TraceByIDResponse (v2) holds that Trace as field 1.
            var bytes = request.ToByteArray();
            context.Response.StatusCode = 200;
            context.Response.ContentType = ProtobufType;
            if (v2)
            {
                var prefix = new byte[1 + CodedOutputStream.ComputeLengthSize(bytes.Length)];
                var output = new CodedOutputStream(prefix);
                output.WriteTag(1, WireFormat.WireType.LengthDelimited);
                output.WriteLength(bytes.Length);
                output.Flush();
                await context.Response.Body.WriteAsync(prefix, context.RequestAborted).ConfigureAwait(false);
            }

            await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        string json = OtlpJson.ToJson(request); // {"resourceSpans": [...]}, ids in hex
        await ServeJson.Write(context, 200, w =>
        {
            if (v2)
            {
                w.WritePropertyName("trace");
                w.WriteRawValue(json, skipInputValidation: true);
            }
            else
            {
                w.WritePropertyName("batches");
                int open = json.IndexOf('[', StringComparison.Ordinal);
                w.WriteRawValue(open < 0 ? "[]" : json[open..(json.LastIndexOf(']') + 1)], skipInputValidation: true);
            }
        }).ConfigureAwait(false);
    }

    /// <summary>GET /api/search: tags (logfmt), q (TraceQL subset), minDuration, maxDuration, start, end (Unix seconds), limit, spss.</summary>
    public async Task Search(HttpContext context)
    {
        var p = context.Request.Query;
        if (!TryQuery(p, out var query, out var spss, out var error))
        {
            await ServeJson.Error(context, 400, error).ConfigureAwait(false);
            return;
        }

        var (traces, _) = await store.SearchAsync(query, context.RequestAborted).ConfigureAwait(false);
        var matches = TraceSearch.Predicate(query);
        var shown = ShownAttributes(query);
        await ServeJson.Write(context, 200, w =>
        {
            w.WriteStartArray("traces");
            foreach (var t in traces)
            {
                w.WriteStartObject();
                w.WriteString("traceID", t.IdHex);
                w.WriteString("rootServiceName", t.Root.Service.Length == 0 ? "<root span not yet received>" : t.Root.Service);
                w.WriteString("rootTraceName", t.Root.Span.Name);
                w.WriteString("startTimeUnixNano", t.Start.ToString(CultureInfo.InvariantCulture));
                w.WriteNumber("durationMs", t.Duration / 1_000_000UL);
                var matched = t.Spans.Where(s => matches(s.Span, s.Resource)).OrderBy(s => s.Start).ToList();
                w.WritePropertyName("spanSet");
                WriteSpanSet(w, matched, spss, shown);
                w.WriteStartArray("spanSets");
                WriteSpanSet(w, matched, spss, shown);
                w.WriteEndArray();
                w.WriteStartObject("serviceStats");
                foreach (var g in t.Spans.GroupBy(s => s.Service, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
                {
                    w.WriteStartObject(g.Key);
                    w.WriteNumber("spanCount", g.Count());
                    w.WriteNumber("errorCount", g.Count(s => s.IsError));
                    w.WriteEndObject();
                }

                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartObject("metrics");
            w.WriteNumber("inspectedTraces", traces.Count);
            w.WriteString("inspectedBytes", "0");
            w.WriteNumber("totalBlocks", 0);
            w.WriteNumber("completedJobs", 1);
            w.WriteNumber("totalJobs", 1);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>GET /api/search/tags ({"tagNames": [...]}) and /api/v2/search/tags ({"scopes": [{"name", "tags"}]}); `scope` narrows both.</summary>
    public async Task Tags(HttpContext context, bool v2)
    {
        string? scope = context.Request.Query["scope"];
        if (scope is not (null or "" or "all" or "span" or "resource" or "intrinsic"))
        {
            await ServeJson.Error(context, 400, "scope: use span, resource, intrinsic or all").ConfigureAwait(false);
            return;
        }

        var catalog = await store.CatalogAsync(context.RequestAborted).ConfigureAwait(false);
        bool Wanted(string s) => scope is null or "" or "all" || scope == s;
        await ServeJson.Write(context, 200, w =>
        {
            if (!v2)
            {
                w.WriteStartArray("tagNames");
                IEnumerable<string> span = Wanted("span") ? catalog.SpanTags.Keys : [], resource = Wanted("resource") ? catalog.ResourceTags.Keys : [];
                foreach (var name in span.Union(resource, StringComparer.Ordinal).Order(StringComparer.Ordinal))
                {
                    w.WriteStringValue(name);
                }

                w.WriteEndArray();
                return;
            }

            w.WriteStartArray("scopes");
            foreach (var (name, tags) in new[] { ("span", catalog.SpanTags.Keys.ToList()), ("resource", catalog.ResourceTags.Keys.ToList()), ("intrinsic", ["duration", "kind", "name", "status", "statusMessage"]) })
            {
                if (!Wanted(name))
                {
                    continue;
                }

                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteStartArray("tags");
                foreach (var tag in tags)
                {
                    w.WriteStringValue(tag);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// GET /api/search/tag/{tag}/values ({"tagValues": ["..."]}) and /api/v2/search/tag/{tag}/values
    /// ({"tagValues": [{"type", "value"}]}). v2 takes scoped names (span.x, resource.x, .x) and intrinsics.
    /// </summary>
    public async Task TagValues(HttpContext context, string tag, bool v2)
    {
        var catalog = await store.CatalogAsync(context.RequestAborted).ConfigureAwait(false);
        IEnumerable<TagValue> values;
        if (v2 && tag is "status")
        {
            values = [new("keyword", "error"), new("keyword", "ok"), new("keyword", "unset")];
        }
        else if (v2 && tag is "kind")
        {
            values = new[] { "unspecified", "internal", "server", "client", "producer", "consumer" }.Select(k => new TagValue("keyword", k));
        }
        else if (tag is "name" or "rootName")
        {
            values = catalog.Operations.Values.SelectMany(o => o).Select(o => new TagValue("string", o.Name)).Distinct();
        }
        else
        {
            var (span, resource, key) = tag switch
            {
                _ when tag.StartsWith("span.", StringComparison.Ordinal) => (true, false, tag[5..]),
                _ when tag.StartsWith("resource.", StringComparison.Ordinal) => (false, true, tag[9..]),
                _ when tag.StartsWith('.') => (true, true, tag[1..]),
                _ => (true, true, tag),
            };
            var found = new Dictionary<string, TagValue>(StringComparer.Ordinal);
            if (span && catalog.SpanTags.TryGetValue(key, out var sv))
            {
                foreach (var v in sv.Values)
                {
                    found.TryAdd(v.Value, v);
                }
            }

            if (resource && catalog.ResourceTags.TryGetValue(key, out var rv))
            {
                foreach (var v in rv.Values)
                {
                    found.TryAdd(v.Value, v);
                }
            }

            values = found.Values;
        }

        var sorted = values.OrderBy(v => v.Value, StringComparer.Ordinal).ToList();
        await ServeJson.Write(context, 200, w =>
        {
            w.WriteStartArray("tagValues");
            foreach (var v in sorted)
            {
                if (v2)
                {
                    w.WriteStartObject();
                    w.WriteString("type", v.Type);
                    w.WriteString("value", v.Value);
                    w.WriteEndObject();
                }
                else
                {
                    w.WriteStringValue(v.Value);
                }
            }

            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    internal static bool TryQuery(IQueryCollection p, out TraceQuery query, out int spss, out string error)
    {
        query = new TraceQuery { Limit = DefaultLimit };
        spss = DefaultSpansPerSpanSet;
        error = "";
        if (p["limit"].ToString() is { Length: > 0 } limitText)
        {
            if (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out int limit) || limit is < 1 or > MaxLimit)
            {
                error = $"limit: a whole number from 1 to {MaxLimit}";
                return false;
            }

            query = query with { Limit = limit };
        }

        if (p["spss"].ToString() is { Length: > 0 } spssText
            && (!int.TryParse(spssText, NumberStyles.None, CultureInfo.InvariantCulture, out spss) || spss is < 1 or > 1000))
        {
            error = "spss: a whole number from 1 to 1000";
            return false;
        }

        if (!TraceQl.TryEpochSeconds(p["start"], out var start) || !TraceQl.TryEpochSeconds(p["end"], out var end))
        {
            error = "start, end: Unix epoch seconds";
            return false;
        }

        query = query with { From = start, To = end };
        foreach (var (name, isMin) in new[] { ("minDuration", true), ("maxDuration", false) })
        {
            if (p[name].ToString() is { Length: > 0 } text)
            {
                if (text.Length > 64 || !GoDuration.TryParse(text, out var d) || d < TimeSpan.Zero)
                {
                    error = $"{name}: a duration such as 100ms or 1.5s";
                    return false;
                }

                query = isMin ? query with { MinDuration = d } : query with { MaxDuration = d };
            }
        }

        if (p["tags"].ToString() is { Length: > 0 } tags && !TraceQl.TryApplyTags(tags, query, out query, out error))
        {
            return false;
        }

        if (p["q"].ToString() is { Length: > 0 } q && !TraceQl.TryApply(q, query, out query, out error))
        {
            return false;
        }

        return true;
    }

    private static bool WantsProtobuf(HttpContext context) =>
        context.Request.Headers.Accept.ToString().Contains(ProtobufType, StringComparison.OrdinalIgnoreCase);

    /// <summary>Tempo returns the attributes a query referred to with each matched span.</summary>
    private static List<(bool Resource, string Key)> ShownAttributes(TraceQuery query)
    {
        var keys = new List<(bool, string)>();
        if (query.Service is not null)
        {
            keys.Add((true, "service.name"));
        }

        foreach (var kv in query.Attributes)
        {
            keys.Add((false, kv.Key));
        }

        foreach (var c in query.Conditions)
        {
            if (c.Scope != ConditionScope.Intrinsic)
            {
                keys.Add((c.Scope == ConditionScope.Resource, c.Key));
            }
        }

        return [.. keys.Distinct()];
    }

    private static void WriteSpanSet(Utf8JsonWriter w, List<SpanView> matched, int spss, List<(bool Resource, string Key)> shown)
    {
        w.WriteStartObject();
        w.WriteStartArray("spans");
        foreach (var s in matched.Take(spss))
        {
            w.WriteStartObject();
            w.WriteString("spanID", Convert.ToHexStringLower(s.Span.SpanId.Span));
            w.WriteString("name", s.Span.Name);
            w.WriteString("startTimeUnixNano", s.Start.ToString(CultureInfo.InvariantCulture));
            w.WriteString("durationNanos", s.Duration.ToString(CultureInfo.InvariantCulture));
            w.WriteStartArray("attributes");
            foreach (var (resource, key) in shown)
            {
                var attrs = resource ? s.Resource.Resource?.Attributes : s.Span.Attributes;
                var kv = attrs?.FirstOrDefault(a => a.Key == key) ?? (resource ? null : s.Resource.Resource?.Attributes.FirstOrDefault(a => a.Key == key));
                if (kv?.Value is not null)
                {
                    w.WriteStartObject();
                    w.WriteString("key", key);
                    w.WritePropertyName("value");
                    ServeJson.WriteAnyValue(w, kv.Value);
                    w.WriteEndObject();
                }
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteNumber("matched", matched.Count);
        w.WriteEndObject();
    }
}
