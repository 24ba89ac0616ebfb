using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Query;

namespace TraceSeal.Serve.Jaeger;

/// <summary>
/// Jaeger's query JSON model (the one jaeger-query's HTTP API and Jaeger UI use): every response is
/// {"data", "total", "limit", "offset", "errors"}; a trace is {"traceID", "spans", "processes", "warnings"}; times in
/// microseconds. OTLP maps onto it as Jaeger's own OTLP translator does: kind → span.kind, status → otel.status_code
/// (+ error=true), events → logs (the name as field "event"), parent → CHILD_OF, links → FOLLOWS_FROM, resource → process.
/// </summary>
internal static class JaegerJson
{
    public static async Task Write(HttpContext context, int status, Action<Utf8JsonWriter>? data, int total, IReadOnlyList<(int Code, string Message)>? errors = null)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WritePropertyName("data");
            if (data is null)
            {
                w.WriteNullValue();
            }
            else
            {
                data(w);
            }

            w.WriteNumber("total", total);
            w.WriteNumber("limit", 0);
            w.WriteNumber("offset", 0);
            w.WritePropertyName("errors");
            if (errors is null)
            {
                w.WriteNullValue();
            }
            else
            {
                w.WriteStartArray();
                foreach (var (code, message) in errors)
                {
                    w.WriteStartObject();
                    w.WriteNumber("code", code);
                    w.WriteString("msg", message);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    public static Task Error(HttpContext context, int status, string message) =>
        Write(context, status, data: null, total: 0, [(status, message)]);

    public static string Kind(Span.Types.SpanKind kind) => kind switch
    {
        Span.Types.SpanKind.Server => "server",
        Span.Types.SpanKind.Client => "client",
        Span.Types.SpanKind.Producer => "producer",
        Span.Types.SpanKind.Consumer => "consumer",
        Span.Types.SpanKind.Internal => "internal",
        _ => "",
    };

    public static void WriteTrace(Utf8JsonWriter w, TraceView trace)
    {
        // One process per distinct resource, numbered in first-seen order (p1, p2, ...), as Jaeger does.
        // By reference: a ResourceSpans' own hash walks every span in it (quadratic in the spans of one resource).
        var processes = new Dictionary<ResourceSpans, string>(ReferenceEqualityComparer.Instance);
        foreach (var s in trace.Spans)
        {
            if (!processes.ContainsKey(s.Resource))
            {
                processes[s.Resource] = "p" + (processes.Count + 1).ToString(CultureInfo.InvariantCulture);
            }
        }

        w.WriteStartObject();
        w.WriteString("traceID", trace.IdHex);
        w.WriteStartArray("spans");
        foreach (var s in trace.Spans.OrderBy(s => s.Start))
        {
            WriteSpan(w, s, trace.IdHex, processes[s.Resource]);
        }

        w.WriteEndArray();
        w.WriteStartObject("processes");
        foreach (var (rs, id) in processes)
        {
            w.WriteStartObject(id);
            w.WriteString("serviceName", SignalSearch.ServiceName(rs.Resource));
            w.WriteStartArray("tags");
            foreach (var kv in rs.Resource?.Attributes ?? [])
            {
                if (kv.Key != "service.name")
                {
                    WriteTag(w, kv.Key, kv.Value);
                }
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteNull("warnings");
        w.WriteEndObject();
    }

    private static void WriteSpan(Utf8JsonWriter w, SpanView s, string traceId, string processId)
    {
        var span = s.Span;
        w.WriteStartObject();
        w.WriteString("traceID", traceId);
        w.WriteString("spanID", Convert.ToHexStringLower(span.SpanId.Span));
        w.WriteNumber("flags", span.Flags & 0xFF);
        w.WriteString("operationName", span.Name);
        w.WriteStartArray("references");
        if (span.ParentSpanId.Length == 8)
        {
            WriteReference(w, "CHILD_OF", traceId, span.ParentSpanId);
        }

        foreach (var link in span.Links)
        {
            WriteReference(w, "FOLLOWS_FROM", Convert.ToHexStringLower(link.TraceId.Span), link.SpanId);
        }

        w.WriteEndArray();
        w.WriteNumber("startTime", s.Start / 1000UL);
        w.WriteNumber("duration", s.Duration / 1000UL);
        w.WriteStartArray("tags");
        foreach (var kv in span.Attributes)
        {
            WriteTag(w, kv.Key, kv.Value);
        }

        if (Kind(span.Kind) is { Length: > 0 } kind)
        {
            WriteTag(w, "span.kind", new AnyValue { StringValue = kind });
        }

        if (span.Status is { Code: not Status.Types.StatusCode.Unset } status)
        {
            WriteTag(w, "otel.status_code", new AnyValue { StringValue = status.Code == Status.Types.StatusCode.Error ? "ERROR" : "OK" });
            if (status.Code == Status.Types.StatusCode.Error)
            {
                WriteTag(w, "error", new AnyValue { BoolValue = true });
            }

            if (status.Message.Length > 0)
            {
                WriteTag(w, "otel.status_description", new AnyValue { StringValue = status.Message });
            }
        }

        if (s.Scope.Scope is { Name.Length: > 0 } scope)
        {
            WriteTag(w, "otel.scope.name", new AnyValue { StringValue = scope.Name });
            if (scope.Version.Length > 0)
            {
                WriteTag(w, "otel.scope.version", new AnyValue { StringValue = scope.Version });
            }
        }

        w.WriteEndArray();
        w.WriteStartArray("logs");
        foreach (var e in span.Events)
        {
            w.WriteStartObject();
            w.WriteNumber("timestamp", e.TimeUnixNano / 1000UL);
            w.WriteStartArray("fields");
            WriteTag(w, "event", new AnyValue { StringValue = e.Name });
            foreach (var kv in e.Attributes)
            {
                WriteTag(w, kv.Key, kv.Value);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteString("processID", processId);
        w.WriteNull("warnings");
        w.WriteEndObject();
    }

    private static void WriteReference(Utf8JsonWriter w, string type, string traceId, Google.Protobuf.ByteString spanId)
    {
        w.WriteStartObject();
        w.WriteString("refType", type);
        w.WriteString("traceID", traceId);
        w.WriteString("spanID", Convert.ToHexStringLower(spanId.Span));
        w.WriteEndObject();
    }

    /// <summary>A Jaeger KeyValue: type string, bool, int64, float64 or binary; arrays and maps as their text.</summary>
    private static void WriteTag(Utf8JsonWriter w, string key, AnyValue? v)
    {
        w.WriteStartObject();
        w.WriteString("key", key);
        switch (v?.ValueCase)
        {
            case AnyValue.ValueOneofCase.BoolValue:
                w.WriteString("type", "bool");
                w.WriteBoolean("value", v.BoolValue);
                break;
            case AnyValue.ValueOneofCase.IntValue:
                w.WriteString("type", "int64");
                w.WriteNumber("value", v.IntValue);
                break;
            case AnyValue.ValueOneofCase.DoubleValue:
                w.WriteString("type", "float64");
                w.WriteNumber("value", double.IsFinite(v.DoubleValue) ? v.DoubleValue : 0);
                break;
            case AnyValue.ValueOneofCase.BytesValue:
                w.WriteString("type", "binary");
                w.WriteString("value", Convert.ToBase64String(v.BytesValue.Span));
                break;
            default:
                w.WriteString("type", "string");
                w.WriteString("value", SignalSearch.Render(v));
                break;
        }

        w.WriteEndObject();
    }
}
