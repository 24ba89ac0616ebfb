using System.Buffers;
using System.Text.Json;
using Google.Protobuf.Reflection;

namespace TraceSeal.Otlp.Json;

/// <summary>
/// The one place OTLP/JSON departs from the standard protobuf JSON mapping: trace and span ids are hex
/// strings, not base64 (OTLP spec, "JSON Protobuf Encoding"). This streaming pass rewrites exactly those
/// values and copies every other token unchanged. It walks the message descriptors alongside the JSON, so
/// only the bytes fields trace_id / span_id / parent_span_id of known messages (Span, Span.Link, LogRecord,
/// Exemplar) are touched, under their JSON or proto names; the same names inside unknown fields are left
/// alone, as unknown fields are ignored. It also enforces the JSON nesting limit.
/// </summary>
internal static class OtlpJsonIds
{
    /// <summary>
    /// Deepest JSON object/array nesting accepted. 32 AnyValue levels take about 4 JSON levels each
    /// (<c>{"kvlistValue":{"values":[{"value":...</c>) plus the envelope, so 160 admits everything the
    /// protobuf validator admits while bounding hostile input.
    /// </summary>
    public const int MaxJsonDepth = 160;

    // An escaped hex char is at most 6 bytes (\u0041).
    private const int MaxEscapedIdBytes = 32 * 6;

    public enum Direction
    {
        HexToBase64,
        Base64ToHex,
    }

    public static bool TryRewrite(ReadOnlySpan<byte> json, MessageDescriptor root, Direction direction, IBufferWriter<byte> output, out OtlpError error)
    {
        // One frame per open object/array: the message type of the object, or of an array's elements; null = not a message.
        var frames = new Stack<Frame>();
        FieldDescriptor? pendingField = null;
        error = default;
        var options = new JsonReaderOptions { MaxDepth = MaxJsonDepth + 1, CommentHandling = JsonCommentHandling.Disallow };
        var reader = new Utf8JsonReader(json, options);
        using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true, Indented = false });
        Span<byte> scratch = stackalloc byte[MaxEscapedIdBytes];
        int idLength = 0; // expected decoded byte length of the value after an id property name; 0 = not an id
        string idPath = string.Empty;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        if (reader.CurrentDepth >= MaxJsonDepth)
                        {
                            error = new OtlpError("nesting_too_deep", $"JSON: more than {MaxJsonDepth} nested objects/arrays (byte offset {reader.TokenStartIndex})");
                            return false;
                        }

                        bool isArray = reader.TokenType == JsonTokenType.StartArray;
                        MessageDescriptor? type = frames.Count == 0 ? (isArray ? null : root)
                            : frames.Peek().IsArray ? (isArray ? null : frames.Peek().Message)
                            : pendingField?.FieldType == FieldType.Message ? pendingField.MessageType : null;
                        frames.Push(new Frame(type, isArray));
                        if (isArray)
                        {
                            writer.WriteStartArray();
                        }
                        else
                        {
                            writer.WriteStartObject();
                        }

                        idLength = 0;
                        break;
                    case JsonTokenType.EndObject:
                        frames.Pop();
                        writer.WriteEndObject();
                        break;
                    case JsonTokenType.EndArray:
                        frames.Pop();
                        writer.WriteEndArray();
                        break;
                    case JsonTokenType.PropertyName:
                        pendingField = frames.Peek().Message is { } message ? FindField(message, reader.GetString()!) : null;
                        idLength = IdLength(pendingField, out idPath);
                        if (!reader.ValueIsEscaped)
                        {
                            writer.WritePropertyName(reader.ValueSpan);
                        }
                        else
                        {
                            writer.WritePropertyName(reader.GetString()!);
                        }

                        continue;
                    case JsonTokenType.String:
                        if (idLength != 0)
                        {
                            if (!TryWriteId(ref reader, writer, direction, idLength, idPath, scratch, out error))
                            {
                                return false;
                            }
                        }
                        else if (!reader.ValueIsEscaped)
                        {
                            writer.WriteStringValue(reader.ValueSpan);
                        }
                        else
                        {
                            writer.WriteStringValue(reader.GetString()!);
                        }

                        break;
                    case JsonTokenType.Number:
                        writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
                        break;
                    case JsonTokenType.True:
                        writer.WriteBooleanValue(true);
                        break;
                    case JsonTokenType.False:
                        writer.WriteBooleanValue(false);
                        break;
                    case JsonTokenType.Null:
                        writer.WriteNullValue();
                        break;
                }

                idLength = 0;
            }
        }
        catch (JsonException ex)
        {
            // The reader's message names a line and byte position only, never the content.
            error = new OtlpError("invalid_json", $"JSON: malformed at line {ex.LineNumber + 1}, byte {ex.BytePositionInLine}");
            return false;
        }
        catch (InvalidOperationException)
        {
            // Utf8JsonReader.GetString throws this for a string that cannot be transcoded, e.g. an escaped lone
            // surrogate ("\uD800"). Found by bench/reliability/fuzz.sh; it used to escape as HTTP 500.
            error = new OtlpError("invalid_utf8", "JSON: a string holds an escaped lone surrogate or invalid UTF-8");
            return false;
        }

        writer.Flush();
        return true;
    }

    private readonly record struct Frame(MessageDescriptor? Message, bool IsArray);

    // Protobuf JSON parsers accept the lowerCamelCase JSON name and the original proto name.
    private static FieldDescriptor? FindField(MessageDescriptor message, string name)
    {
        FieldDescriptor? field = message.FindFieldByName(name);
        if (field is not null)
        {
            return field;
        }

        foreach (FieldDescriptor candidate in message.Fields.InDeclarationOrder())
        {
            if (candidate.JsonName == name)
            {
                return candidate;
            }
        }

        return null;
    }

    private static int IdLength(FieldDescriptor? field, out string path)
    {
        path = string.Empty;
        if (field is null || field.FieldType != FieldType.Bytes || field.IsRepeated)
        {
            return 0;
        }

        path = field.ContainingType.Name + "." + field.JsonName;
        return field.Name switch
        {
            "trace_id" => 16,
            "span_id" or "parent_span_id" => 8,
            _ => 0,
        };
    }

    private static bool TryWriteId(ref Utf8JsonReader reader, Utf8JsonWriter writer, Direction direction, int idLength, string path, scoped Span<byte> scratch, out OtlpError error)
    {
        error = default;
        string code = idLength == 16 ? "bad_trace_id" : "bad_span_id";
        if (reader.ValueSpan.Length > scratch.Length)
        {
            error = new OtlpError(code, $"JSON {path}: too long (byte offset {reader.TokenStartIndex})");
            return false;
        }

        int length = reader.CopyString(scratch);
        ReadOnlySpan<byte> text = scratch[..length];
        Span<byte> id = stackalloc byte[16];
        if (direction == Direction.HexToBase64)
        {
            // Empty means "absent"; the validator decides whether the field was required.
            if (text.Length != 0 && (text.Length != idLength * 2 || !TryDecodeHex(text, id)))
            {
                error = new OtlpError(code, $"JSON {path}: must be {idLength * 2} hex digits or empty (byte offset {reader.TokenStartIndex})");
                return false;
            }

            writer.WriteBase64StringValue(id[..(text.Length / 2)]);
            return true;
        }

        if (System.Buffers.Text.Base64.DecodeFromUtf8(text, id, out _, out int written) != OperationStatus.Done)
        {
            // Only reached for protobuf that was never validated (an id longer than 16 bytes): keep it as is.
            writer.WriteStringValue(text);
            return true;
        }

        // ToJson output: lowercase hex of whatever length the protobuf held.
        Span<byte> hex = stackalloc byte[32];
        for (int i = 0; i < written; i++)
        {
            hex[2 * i] = HexDigit(id[i] >> 4);
            hex[(2 * i) + 1] = HexDigit(id[i] & 0xF);
        }

        writer.WriteStringValue(hex[..(written * 2)]);
        return true;
    }

    private static byte HexDigit(int nibble) => (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);

    private static bool TryDecodeHex(ReadOnlySpan<byte> hex, Span<byte> destination)
    {
        for (int i = 0; (uint)(i * 2 + 1) < (uint)hex.Length; i++)
        {
            int high = HexValue(hex[i * 2]);
            int low = HexValue(hex[(i * 2) + 1]);
            if ((high | low) < 0)
            {
                return false;
            }

            destination[i] = (byte)((high << 4) | low);
        }

        return true;
    }

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };
}
