using static TraceSeal.Otlp.Validation.CommonFields;

namespace TraceSeal.Otlp.Validation;

/// <summary>Validates the messages shared by all signals: attributes (KeyValue/AnyValue), scope and resource.</summary>
internal static class CommonValidator
{
    /// <summary>
    /// AnyValue may nest through array_value / kvlist_value without bound in the proto. We allow 32 levels
    /// (a top-level attribute value is level 1): far beyond real telemetry, small enough that the recursive
    /// reader cannot exhaust the stack on hostile input.
    /// </summary>
    public const int MaxAnyValueDepth = 32;

    public const int TraceIdLength = 16;
    public const int SpanIdLength = 8;

    private static ReadOnlySpan<byte> ServiceNameKey => "service.name"u8;

    public static bool IsAllZero(ReadOnlySpan<byte> id) => id.IndexOfAnyExcept((byte)0) < 0;

    /// <summary>A trace or span id that may be absent (empty) but otherwise has an exact length.</summary>
    public static bool CheckOptionalId(ReadOnlySpan<byte> id, int length, string code, string path, int offset, scoped ref WireFailure failure)
        => id.IsEmpty || id.Length == length || failure.Fail(code, path, length == TraceIdLength ? "must be empty or 16 bytes" : "must be empty or 8 bytes", offset);

    /// <summary>A repeated KeyValue field (attributes, metadata). Returns the value if the key is service.name and it is a string.</summary>
    public static bool ReadKeyValue(ReadOnlySpan<byte> message, int baseOffset, int depth, scoped ref WireFailure failure, out ReadOnlySpan<byte> serviceName)
    {
        serviceName = default;
        ReadOnlySpan<byte> key = default;
        ReadOnlySpan<byte> stringValue = default;
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("KeyValue", ref failure, out int field, out int wireType))
            {
                return false;
            }

            switch (field)
            {
                case KeyValue_Key:
                    if (!reader.TryReadString(wireType, "KeyValue.key", ref failure, out key))
                    {
                        return false;
                    }

                    break;
                case KeyValue_Value:
                    if (!reader.TryReadLength(wireType, "KeyValue.value", ref failure, out ReadOnlySpan<byte> value, out int offset)
                        || !ReadAnyValue(value, offset, depth, ref failure, out stringValue))
                    {
                        return false;
                    }

                    break;
                default:
                    if (!reader.TrySkip(wireType, "KeyValue", ref failure))
                    {
                        return false;
                    }

                    break;
            }
        }

        if (key.SequenceEqual(ServiceNameKey))
        {
            serviceName = stringValue;
        }

        return true;
    }

    /// <summary>AnyValue at nesting level <paramref name="depth"/> (1 = directly under an attribute).</summary>
    public static bool ReadAnyValue(ReadOnlySpan<byte> message, int baseOffset, int depth, scoped ref WireFailure failure, out ReadOnlySpan<byte> stringValue)
    {
        stringValue = default;
        if (depth > MaxAnyValueDepth)
        {
            return failure.Fail("nesting_too_deep", "AnyValue", "more than 32 nested array/kvlist levels", baseOffset);
        }

        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("AnyValue", ref failure, out int field, out int wireType))
            {
                return false;
            }

            // oneof: the last field on the wire wins, so any non-string member clears the string.
            bool ok;
            ReadOnlySpan<byte> nested;
            int offset;
            switch (field)
            {
                case AnyValue_StringValue:
                    if (!reader.TryReadString(wireType, "AnyValue.string_value", ref failure, out stringValue))
                    {
                        return false;
                    }

                    continue;
                case AnyValue_BoolValue:
                    ok = reader.TryReadVarint(wireType, "AnyValue.bool_value", ref failure, out _);
                    break;
                case AnyValue_IntValue:
                    ok = reader.TryReadVarint(wireType, "AnyValue.int_value", ref failure, out _);
                    break;
                case AnyValue_DoubleValue:
                    ok = reader.TryReadFixed64(wireType, "AnyValue.double_value", ref failure, out _);
                    break;
                case AnyValue_ArrayValue:
                    ok = reader.TryReadLength(wireType, "AnyValue.array_value", ref failure, out nested, out offset)
                        && ReadArrayValue(nested, offset, depth, ref failure);
                    break;
                case AnyValue_KvlistValue:
                    ok = reader.TryReadLength(wireType, "AnyValue.kvlist_value", ref failure, out nested, out offset)
                        && ReadKeyValueList(nested, offset, depth, ref failure);
                    break;
                case AnyValue_BytesValue:
                    ok = reader.TryReadLength(wireType, "AnyValue.bytes_value", ref failure, out _, out _);
                    break;
                default:
                    if (!reader.TrySkip(wireType, "AnyValue", ref failure))
                    {
                        return false;
                    }

                    continue;
            }

            if (!ok)
            {
                return false;
            }

            stringValue = default;
        }

        return true;
    }

    private static bool ReadArrayValue(ReadOnlySpan<byte> message, int baseOffset, int depth, scoped ref WireFailure failure)
    {
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("ArrayValue", ref failure, out int field, out int wireType))
            {
                return false;
            }

            if (field == ArrayValue_Values)
            {
                if (!reader.TryReadLength(wireType, "ArrayValue.values", ref failure, out ReadOnlySpan<byte> value, out int offset)
                    || !ReadAnyValue(value, offset, depth + 1, ref failure, out _))
                {
                    return false;
                }
            }
            else if (!reader.TrySkip(wireType, "ArrayValue", ref failure))
            {
                return false;
            }
        }

        return true;
    }

    private static bool ReadKeyValueList(ReadOnlySpan<byte> message, int baseOffset, int depth, scoped ref WireFailure failure)
    {
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("KeyValueList", ref failure, out int field, out int wireType))
            {
                return false;
            }

            if (field == KeyValueList_Values)
            {
                if (!reader.TryReadLength(wireType, "KeyValueList.values", ref failure, out ReadOnlySpan<byte> value, out int offset)
                    || !ReadKeyValue(value, offset, depth + 1, ref failure, out _))
                {
                    return false;
                }
            }
            else if (!reader.TrySkip(wireType, "KeyValueList", ref failure))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Reads one attribute (a repeated KeyValue element) at the top level.</summary>
    public static bool ReadAttribute(ref ProtoReader reader, int wireType, string path, scoped ref WireFailure failure)
        => reader.TryReadLength(wireType, path, ref failure, out ReadOnlySpan<byte> value, out int offset)
            && ReadKeyValue(value, offset, 1, ref failure, out _);

    public static bool ReadScope(ReadOnlySpan<byte> message, int baseOffset, scoped ref WireFailure failure)
    {
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("InstrumentationScope", ref failure, out int field, out int wireType))
            {
                return false;
            }

            bool ok = field switch
            {
                InstrumentationScope_Name => reader.TryReadString(wireType, "InstrumentationScope.name", ref failure, out _),
                InstrumentationScope_Version => reader.TryReadString(wireType, "InstrumentationScope.version", ref failure, out _),
                InstrumentationScope_Attributes => ReadAttribute(ref reader, wireType, "InstrumentationScope.attributes", ref failure),
                InstrumentationScope_DroppedAttributesCount => reader.TryReadVarint(wireType, "InstrumentationScope.dropped_attributes_count", ref failure, out _),
                _ => reader.TrySkip(wireType, "InstrumentationScope", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Resource; returns the string value of the service.name attribute (empty if absent).</summary>
    public static bool ReadResource(ReadOnlySpan<byte> message, int baseOffset, scoped ref WireFailure failure, out ReadOnlySpan<byte> serviceName)
    {
        serviceName = default;
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("Resource", ref failure, out int field, out int wireType))
            {
                return false;
            }

            bool ok;
            switch (field)
            {
                case Resource_Attributes:
                    ReadOnlySpan<byte> name = default;
                    ok = reader.TryReadLength(wireType, "Resource.attributes", ref failure, out ReadOnlySpan<byte> value, out int offset)
                        && ReadKeyValue(value, offset, 1, ref failure, out name);
                    if (ok && !name.IsEmpty)
                    {
                        serviceName = name;
                    }

                    break;
                case Resource_DroppedAttributesCount:
                    ok = reader.TryReadVarint(wireType, "Resource.dropped_attributes_count", ref failure, out _);
                    break;
                case Resource_EntityRefs:
                    ok = reader.TryReadLength(wireType, "Resource.entity_refs", ref failure, out ReadOnlySpan<byte> entity, out int entityOffset)
                        && ReadEntityRef(entity, entityOffset, ref failure);
                    break;
                default:
                    ok = reader.TrySkip(wireType, "Resource", ref failure);
                    break;
            }

            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool ReadEntityRef(ReadOnlySpan<byte> message, int baseOffset, scoped ref WireFailure failure)
    {
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("EntityRef", ref failure, out int field, out int wireType))
            {
                return false;
            }

            bool ok = field switch
            {
                EntityRef_SchemaUrl => reader.TryReadString(wireType, "EntityRef.schema_url", ref failure, out _),
                EntityRef_Type => reader.TryReadString(wireType, "EntityRef.type", ref failure, out _),
                EntityRef_IdKeys => reader.TryReadString(wireType, "EntityRef.id_keys", ref failure, out _),
                EntityRef_DescriptionKeys => reader.TryReadString(wireType, "EntityRef.description_keys", ref failure, out _),
                _ => reader.TrySkip(wireType, "EntityRef", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
