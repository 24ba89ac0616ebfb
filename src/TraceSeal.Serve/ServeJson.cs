using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using OpenTelemetry.Proto.Common.V1;

namespace TraceSeal.Serve;

/// <summary>JSON responses: one object written with Utf8JsonWriter; errors as {"error": "..."} (Jaeger's have their own envelope).</summary>
internal static class ServeJson
{
    public static async Task Write(HttpContext context, int status, Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { MaxDepth = 512 }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    public static Task Error(HttpContext context, int status, string message) =>
        Write(context, status, w => w.WriteString("error", message));

    /// <summary>An attribute value in OTLP/JSON form: {"stringValue": ...}, {"intValue": "..."} (int64 as a string), ...</summary>
    public static void WriteAnyValue(Utf8JsonWriter w, AnyValue v)
    {
        w.WriteStartObject();
        switch (v.ValueCase)
        {
            case AnyValue.ValueOneofCase.StringValue:
                w.WriteString("stringValue", v.StringValue);
                break;
            case AnyValue.ValueOneofCase.IntValue:
                w.WriteString("intValue", v.IntValue.ToString(CultureInfo.InvariantCulture));
                break;
            case AnyValue.ValueOneofCase.DoubleValue:
                w.WriteNumber("doubleValue", v.DoubleValue);
                break;
            case AnyValue.ValueOneofCase.BoolValue:
                w.WriteBoolean("boolValue", v.BoolValue);
                break;
            case AnyValue.ValueOneofCase.BytesValue:
                w.WriteString("bytesValue", Convert.ToBase64String(v.BytesValue.Span));
                break;
            case AnyValue.ValueOneofCase.ArrayValue:
                w.WriteStartObject("arrayValue");
                w.WriteStartArray("values");
                foreach (var item in v.ArrayValue.Values)
                {
                    WriteAnyValue(w, item);
                }

                w.WriteEndArray();
                w.WriteEndObject();
                break;
            case AnyValue.ValueOneofCase.KvlistValue:
                w.WriteStartObject("kvlistValue");
                w.WriteStartArray("values");
                foreach (var kv in v.KvlistValue.Values)
                {
                    w.WriteStartObject();
                    w.WriteString("key", kv.Key);
                    w.WritePropertyName("value");
                    WriteAnyValue(w, kv.Value ?? new AnyValue());
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
                break;
        }

        w.WriteEndObject();
    }
}
