using System.Buffers;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using TraceSeal.Otlp.Json;

namespace TraceSeal.Otlp;

/// <summary>
/// OTLP/JSON encoding (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): the standard
/// protobuf JSON mapping, except trace/span ids are hex. Field names in lowerCamelCase or the original
/// snake_case, 64-bit integers as strings or numbers, enums as integers or names, unknown fields ignored,
/// null means absent.
/// </summary>
/// <remarks>
/// Not the hot path: the request is rewritten once (hex ids to base64, depth limit) and then parsed by
/// Google.Protobuf's descriptor-driven <see cref="JsonParser"/> into the generated message. Semantic checks
/// (required ids, UTF-8, AnyValue depth) are <see cref="OtlpValidator"/>'s job: validate the output.
/// </remarks>
public static class OtlpJson
{
    // Message nesting: 32 AnyValue levels are 3 messages each (AnyValue, KeyValueList, KeyValue) plus the envelope.
    private const int ParserRecursionLimit = 3 * OtlpValidator.MaxAnyValueDepth + 16;

    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true).WithRecursionLimit(ParserRecursionLimit));

    // OTLP/JSON: "Values of enum fields MUST be encoded as integer values."
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatEnumsAsIntegers(true));

    public static bool TryToProtobuf(ReadOnlySpan<byte> utf8Json, OtlpSignal signal, IBufferWriter<byte> output, out OtlpError error)
    {
        ArgumentNullException.ThrowIfNull(output);
        MessageDescriptor descriptor = Descriptor(signal);
        if (!System.Text.Unicode.Utf8.IsValid(utf8Json))
        {
            // JSON text must be UTF-8 (RFC 8259 §8.1); checked up front so no decoder below sees broken input.
            error = new OtlpError("invalid_utf8", $"{descriptor.Name}: the JSON body is not valid UTF-8");
            return false;
        }

        var rewritten = new ArrayBufferWriter<byte>(utf8Json.Length + 64);
        if (!OtlpJsonIds.TryRewrite(utf8Json, descriptor, OtlpJsonIds.Direction.HexToBase64, rewritten, out error))
        {
            return false;
        }

        IMessage message;
        try
        {
            message = Parser.Parse(System.Text.Encoding.UTF8.GetString(rewritten.WrittenSpan), descriptor);
        }
        catch (InvalidJsonException)
        {
            error = new OtlpError("invalid_json", $"{descriptor.Name}: malformed JSON");
            return false;
        }
        catch (InvalidProtocolBufferException)
        {
            // The parser's message may quote the offending value, so it is not passed on.
            error = new OtlpError("invalid_value", $"{descriptor.Name}: a JSON value does not fit its OTLP field type, or nesting exceeds {ParserRecursionLimit} messages");
            return false;
        }
        catch (FormatException)
        {
            error = new OtlpError("invalid_value", $"{descriptor.Name}: a JSON number or base64 value is malformed");
            return false;
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or OverflowException)
        {
            // Defence in depth: whatever else the generic parser throws on hostile input is the client's error
            // (400), never a server error (500). Its message may quote the input, so it is not passed on.
            error = new OtlpError("invalid_value", $"{descriptor.Name}: a JSON value cannot be converted to its OTLP field");
            return false;
        }

        message.WriteTo(output);
        error = default;
        return true;
    }

    public static string ToJson(ReadOnlySpan<byte> protobuf, OtlpSignal signal) =>
        ToJson(Descriptor(signal).Parser.ParseFrom(protobuf));

    /// <summary>A parsed request (readers parse with the validator's nesting limit, which the generic parser above does not have).</summary>
    public static string ToJson(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        MessageDescriptor descriptor = message.Descriptor;
        string standard = Formatter.Format(message);
        var output = new ArrayBufferWriter<byte>(standard.Length + 64);
        if (!OtlpJsonIds.TryRewrite(System.Text.Encoding.UTF8.GetBytes(standard), descriptor, OtlpJsonIds.Direction.Base64ToHex, output, out OtlpError error))
        {
            throw new InvalidOperationException(error.Message); // our own formatter's output: cannot happen
        }

        return System.Text.Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static MessageDescriptor Descriptor(OtlpSignal signal) => signal switch
    {
        OtlpSignal.Traces => ExportTraceServiceRequest.Descriptor,
        OtlpSignal.Metrics => ExportMetricsServiceRequest.Descriptor,
        OtlpSignal.Logs => ExportLogsServiceRequest.Descriptor,
        _ => throw new ArgumentOutOfRangeException(nameof(signal)),
    };
}
