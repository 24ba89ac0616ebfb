using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TraceSeal.Collector.Config;
using TraceSeal.Query;

namespace TraceSeal.Serve.Jaeger;

/// <summary>Jaeger's query API under /jaeger (Grafana's Jaeger data source and Jaeger UI take a base path).</summary>
internal sealed class JaegerApi(TraceStore store)
{
    public const int DefaultLimit = 20;
    public const int MaxLimit = 1000;

    /// <summary>A `tags` JSON object: bounded before it is parsed.</summary>
    private const int MaxTagsLength = 4096;

    public async Task Services(HttpContext context)
    {
        var catalog = await store.CatalogAsync(context.RequestAborted).ConfigureAwait(false);
        var services = catalog.Operations.Keys.Where(s => s.Length > 0).ToList();
        await JaegerJson.Write(context, 200, w =>
        {
            w.WriteStartArray();
            foreach (var s in services)
            {
                w.WriteStringValue(s);
            }

            w.WriteEndArray();
        }, services.Count).ConfigureAwait(false);
    }

    /// <summary>/api/services/{service}/operations: names (strings); /api/operations?service=&amp;spanKind=: {"name", "spanKind"}.</summary>
    public async Task Operations(HttpContext context, string? service, bool objects)
    {
        if (string.IsNullOrEmpty(service))
        {
            await JaegerJson.Error(context, 400, "parameter 'service' is required").ConfigureAwait(false);
            return;
        }

        string? kind = context.Request.Query["spanKind"];
        var catalog = await store.CatalogAsync(context.RequestAborted).ConfigureAwait(false);
        var ops = catalog.Operations.TryGetValue(service, out var set)
            ? set.Where(o => string.IsNullOrEmpty(kind) || o.Kind == kind).ToList()
            : [];
        var names = ops.Select(o => o.Name).Distinct(StringComparer.Ordinal).ToList();
        await JaegerJson.Write(context, 200, w =>
        {
            w.WriteStartArray();
            if (objects)
            {
                foreach (var (name, k) in ops)
                {
                    w.WriteStartObject();
                    w.WriteString("name", name);
                    w.WriteString("spanKind", k);
                    w.WriteEndObject();
                }
            }
            else
            {
                foreach (var name in names)
                {
                    w.WriteStringValue(name);
                }
            }

            w.WriteEndArray();
        }, objects ? ops.Count : names.Count).ConfigureAwait(false);
    }

    public async Task Trace(HttpContext context, string id)
    {
        if (!TraceView.TryParseId(id, out var traceId))
        {
            await JaegerJson.Error(context, 400, "malformed trace id: expected up to 32 hex digits").ConfigureAwait(false);
            return;
        }

        var trace = await store.TraceAsync(traceId, context.RequestAborted).ConfigureAwait(false);
        if (trace is null)
        {
            await JaegerJson.Error(context, 404, "trace not found").ConfigureAwait(false);
            return;
        }

        await JaegerJson.Write(context, 200, w =>
        {
            w.WriteStartArray();
            JaegerJson.WriteTrace(w, trace);
            w.WriteEndArray();
        }, 1).ConfigureAwait(false);
    }

    /// <summary>/api/traces: service, operation, tags (JSON object), start/end (µs), minDuration/maxDuration, limit.</summary>
    public async Task FindTraces(HttpContext context)
    {
        if (!TryQuery(context.Request.Query, out var query, out var error))
        {
            await JaegerJson.Error(context, 400, error).ConfigureAwait(false);
            return;
        }

        var (traces, _) = await store.SearchAsync(query, context.RequestAborted).ConfigureAwait(false);
        await JaegerJson.Write(context, 200, w =>
        {
            w.WriteStartArray();
            foreach (var t in traces)
            {
                JaegerJson.WriteTrace(w, t);
            }

            w.WriteEndArray();
        }, traces.Count).ConfigureAwait(false);
    }

    internal static bool TryQuery(IQueryCollection p, out TraceQuery query, out string error)
    {
        query = new TraceQuery { Limit = DefaultLimit };
        error = "";
        string? service = p["service"], operation = p["operation"];
        query = query with
        {
            Service = string.IsNullOrEmpty(service) ? null : service,
            SpanName = string.IsNullOrEmpty(operation) ? null : operation,
        };
        if (p["limit"].ToString() is { Length: > 0 } limitText)
        {
            if (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out int limit) || limit > MaxLimit)
            {
                error = $"unable to parse param 'limit': a whole number up to {MaxLimit}";
                return false;
            }

            query = query with { Limit = limit == 0 ? DefaultLimit : limit };
        }

        foreach (var (name, isStart) in new[] { ("start", true), ("end", false) })
        {
            if (p[name].ToString() is { Length: > 0 } text)
            {
                if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long micros) || micros > 253402300799_000_000)
                {
                    error = $"unable to parse param '{name}': Unix epoch microseconds";
                    return false;
                }

                var t = DateTimeOffset.UnixEpoch.AddTicks(micros * 10);
                query = isStart ? query with { From = t } : query with { To = t };
            }
        }

        foreach (var (name, isMin) in new[] { ("minDuration", true), ("maxDuration", false) })
        {
            if (p[name].ToString() is { Length: > 0 } text)
            {
                if (text.Length > 64 || !GoDuration.TryParse(text, out var d) || d < TimeSpan.Zero)
                {
                    error = $"unable to parse param '{name}': a duration such as 100ms or 1.5s";
                    return false;
                }

                query = isMin ? query with { MinDuration = d } : query with { MaxDuration = d };
            }
        }

        if (p["tags"].ToString() is { Length: > 0 } tags)
        {
            if (!TryTags(tags, out var attributes, out bool error2))
            {
                error = "malformed 'tags' parameter: a JSON object of string values, e.g. {\"http.status_code\":\"500\"}";
                return false;
            }

            query = query with { Attributes = attributes, Status = error2 ? SpanStatus.Error : query.Status };
        }

        return true;
    }

    /// <summary>{"key": "value", ...}; "error": "true" selects spans with status error (as Jaeger's own tag does).</summary>
    private static bool TryTags(string json, out List<KeyValuePair<string, string>> attributes, out bool error)
    {
        attributes = [];
        error = false;
        if (json.Length > MaxTagsLength)
        {
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 2 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                string value = prop.Value.ValueKind switch
                {
                    JsonValueKind.String => prop.Value.GetString()!,
                    JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => prop.Value.GetRawText(),
                    _ => throw new JsonException(),
                };
                if (prop.Name == "error" && value == "true")
                {
                    error = true;
                }
                else
                {
                    attributes.Add(new(prop.Name, value));
                }
            }

            return attributes.Count <= 32;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
