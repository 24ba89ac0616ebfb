using static TraceSeal.Otlp.Validation.TraceFields;

namespace TraceSeal.Otlp.Validation;

/// <summary>Validates ExportTraceServiceRequest and feeds the visitor.</summary>
internal static class TraceValidator
{
    public static bool ReadRequest<TVisitor>(ReadOnlySpan<byte> message, ref TVisitor visitor, ref SummaryBuilder summary, scoped ref WireFailure failure)
        where TVisitor : struct, IOtlpSpanVisitor
    {
        var reader = new ProtoReader(message, 0);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("ExportTraceServiceRequest", ref failure, out int field, out int wireType))
            {
                return false;
            }

            bool ok = field == ExportTraceServiceRequest_ResourceSpans
                ? reader.TryReadLength(wireType, "ExportTraceServiceRequest.resource_spans", ref failure, out ReadOnlySpan<byte> value, out int offset)
                    && ReadResourceSpans(value, offset, ref visitor, ref summary, ref failure)
                : reader.TrySkip(wireType, "ExportTraceServiceRequest", ref failure);
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    // Two passes so the visitor hears the resource before its spans even when an encoder writes
    // resource (field 1) after scope_spans (field 2): pass 1 validates everything but span contents.
    private static bool ReadResourceSpans<TVisitor>(ReadOnlySpan<byte> message, int baseOffset, ref TVisitor visitor, ref SummaryBuilder summary, scoped ref WireFailure failure)
        where TVisitor : struct, IOtlpSpanVisitor
    {
        ReadOnlySpan<byte> serviceName = default;
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("ResourceSpans", ref failure, out int field, out int wireType))
            {
                return false;
            }

            bool ok;
            switch (field)
            {
                case ResourceSpans_Resource:
                    ok = reader.TryReadLength(wireType, "ResourceSpans.resource", ref failure, out ReadOnlySpan<byte> value, out int offset)
                        && CommonValidator.ReadResource(value, offset, ref failure, out serviceName);
                    break;
                case ResourceSpans_ScopeSpans:
                    ok = reader.TryReadLength(wireType, "ResourceSpans.scope_spans", ref failure, out _, out _);
                    break;
                case ResourceSpans_SchemaUrl:
                    ok = reader.TryReadString(wireType, "ResourceSpans.schema_url", ref failure, out _);
                    break;
                default:
                    ok = reader.TrySkip(wireType, "ResourceSpans", ref failure);
                    break;
            }

            if (!ok)
            {
                return false;
            }
        }

        visitor.OnResource(serviceName);

        reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            // Pass 1 proved every tag and length well formed, so these reads cannot fail.
            reader.TryReadTag("ResourceSpans", ref failure, out int field, out int wireType);
            if (field == ResourceSpans_ScopeSpans)
            {
                reader.TryReadLength(wireType, "ResourceSpans.scope_spans", ref failure, out ReadOnlySpan<byte> value, out int offset);
                if (!ReadScopeSpans(value, offset, ref visitor, ref summary, ref failure))
                {
                    return false;
                }
            }
            else
            {
                reader.TrySkip(wireType, "ResourceSpans", ref failure);
            }
        }

        return true;
    }

    private static bool ReadScopeSpans<TVisitor>(ReadOnlySpan<byte> message, int baseOffset, ref TVisitor visitor, ref SummaryBuilder summary, scoped ref WireFailure failure)
        where TVisitor : struct, IOtlpSpanVisitor
    {
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("ScopeSpans", ref failure, out int field, out int wireType))
            {
                return false;
            }

            ReadOnlySpan<byte> value;
            int offset;
            bool ok = field switch
            {
                ScopeSpans_Scope => reader.TryReadLength(wireType, "ScopeSpans.scope", ref failure, out value, out offset)
                    && CommonValidator.ReadScope(value, offset, ref failure),
                ScopeSpans_Spans => reader.TryReadLength(wireType, "ScopeSpans.spans", ref failure, out value, out offset)
                    && ReadSpan(value, offset, ref visitor, ref summary, ref failure),
                ScopeSpans_SchemaUrl => reader.TryReadString(wireType, "ScopeSpans.schema_url", ref failure, out _),
                _ => reader.TrySkip(wireType, "ScopeSpans", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool ReadSpan<TVisitor>(ReadOnlySpan<byte> message, int baseOffset, ref TVisitor visitor, ref SummaryBuilder summary, scoped ref WireFailure failure)
        where TVisitor : struct, IOtlpSpanVisitor
    {
        ReadOnlySpan<byte> traceId = default, spanId = default, name = default;
        ulong start = 0, end = 0;
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("Span", ref failure, out int field, out int wireType))
            {
                return false;
            }

            ReadOnlySpan<byte> value;
            int offset;
            bool ok;
            switch (field)
            {
                case Span_TraceId:
                    ok = reader.TryReadLength(wireType, "Span.trace_id", ref failure, out traceId, out _);
                    break;
                case Span_SpanId:
                    ok = reader.TryReadLength(wireType, "Span.span_id", ref failure, out spanId, out _);
                    break;
                case Span_TraceState:
                    ok = reader.TryReadString(wireType, "Span.trace_state", ref failure, out _);
                    break;
                case Span_ParentSpanId:
                    // Empty for a root span (trace.proto), otherwise exactly 8 bytes.
                    ok = reader.TryReadLength(wireType, "Span.parent_span_id", ref failure, out value, out offset)
                        && CommonValidator.CheckOptionalId(value, CommonValidator.SpanIdLength, "bad_span_id", "Span.parent_span_id", offset, ref failure);
                    break;
                case Span_Name:
                    ok = reader.TryReadString(wireType, "Span.name", ref failure, out name);
                    break;
                case Span_Kind:
                    ok = reader.TryReadVarint(wireType, "Span.kind", ref failure, out _);
                    break;
                case Span_StartTimeUnixNano:
                    ok = reader.TryReadFixed64(wireType, "Span.start_time_unix_nano", ref failure, out start);
                    break;
                case Span_EndTimeUnixNano:
                    ok = reader.TryReadFixed64(wireType, "Span.end_time_unix_nano", ref failure, out end);
                    break;
                case Span_Attributes:
                    ok = CommonValidator.ReadAttribute(ref reader, wireType, "Span.attributes", ref failure);
                    break;
                case Span_DroppedAttributesCount:
                    ok = reader.TryReadVarint(wireType, "Span.dropped_attributes_count", ref failure, out _);
                    break;
                case Span_Events:
                    ok = reader.TryReadLength(wireType, "Span.events", ref failure, out value, out offset)
                        && ReadEvent(value, offset, ref failure);
                    break;
                case Span_DroppedEventsCount:
                    ok = reader.TryReadVarint(wireType, "Span.dropped_events_count", ref failure, out _);
                    break;
                case Span_Links:
                    ok = reader.TryReadLength(wireType, "Span.links", ref failure, out value, out offset)
                        && ReadLink(value, offset, ref failure);
                    break;
                case Span_DroppedLinksCount:
                    ok = reader.TryReadVarint(wireType, "Span.dropped_links_count", ref failure, out _);
                    break;
                case Span_Status:
                    ok = reader.TryReadLength(wireType, "Span.status", ref failure, out value, out offset)
                        && ReadStatus(value, offset, ref failure);
                    break;
                case Span_Flags:
                    ok = reader.TryReadFixed32(wireType, "Span.flags", ref failure, out _);
                    break;
                default:
                    ok = reader.TrySkip(wireType, "Span", ref failure);
                    break;
            }

            if (!ok)
            {
                return false;
            }
        }

        // trace.proto: "An ID with all zeroes OR of length other than 16 bytes is considered invalid ... This field is required."
        if (traceId.Length != CommonValidator.TraceIdLength)
        {
            return failure.Fail("bad_trace_id", "Span.trace_id", traceId.IsEmpty ? "missing (required, 16 bytes)" : "must be 16 bytes", baseOffset);
        }

        if (CommonValidator.IsAllZero(traceId))
        {
            return failure.Fail("bad_trace_id", "Span.trace_id", "all zero", baseOffset);
        }

        if (spanId.Length != CommonValidator.SpanIdLength)
        {
            return failure.Fail("bad_span_id", "Span.span_id", spanId.IsEmpty ? "missing (required, 8 bytes)" : "must be 8 bytes", baseOffset);
        }

        if (CommonValidator.IsAllZero(spanId))
        {
            return failure.Fail("bad_span_id", "Span.span_id", "all zero", baseOffset);
        }

        summary.Add(start, end);
        visitor.OnSpan(traceId, spanId, start, end, name);
        return true;
    }

    private static bool ReadEvent(ReadOnlySpan<byte> message, int baseOffset, scoped ref WireFailure failure)
    {
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("Span.Event", ref failure, out int field, out int wireType))
            {
                return false;
            }

            bool ok = field switch
            {
                Span_Event_TimeUnixNano => reader.TryReadFixed64(wireType, "Span.Event.time_unix_nano", ref failure, out _),
                Span_Event_Name => reader.TryReadString(wireType, "Span.Event.name", ref failure, out _),
                Span_Event_Attributes => CommonValidator.ReadAttribute(ref reader, wireType, "Span.Event.attributes", ref failure),
                Span_Event_DroppedAttributesCount => reader.TryReadVarint(wireType, "Span.Event.dropped_attributes_count", ref failure, out _),
                _ => reader.TrySkip(wireType, "Span.Event", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool ReadLink(ReadOnlySpan<byte> message, int baseOffset, scoped ref WireFailure failure)
    {
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("Span.Link", ref failure, out int field, out int wireType))
            {
                return false;
            }

            ReadOnlySpan<byte> id;
            int offset;
            bool ok = field switch
            {
                Span_Link_TraceId => reader.TryReadLength(wireType, "Span.Link.trace_id", ref failure, out id, out offset)
                    && CommonValidator.CheckOptionalId(id, CommonValidator.TraceIdLength, "bad_trace_id", "Span.Link.trace_id", offset, ref failure),
                Span_Link_SpanId => reader.TryReadLength(wireType, "Span.Link.span_id", ref failure, out id, out offset)
                    && CommonValidator.CheckOptionalId(id, CommonValidator.SpanIdLength, "bad_span_id", "Span.Link.span_id", offset, ref failure),
                Span_Link_TraceState => reader.TryReadString(wireType, "Span.Link.trace_state", ref failure, out _),
                Span_Link_Attributes => CommonValidator.ReadAttribute(ref reader, wireType, "Span.Link.attributes", ref failure),
                Span_Link_DroppedAttributesCount => reader.TryReadVarint(wireType, "Span.Link.dropped_attributes_count", ref failure, out _),
                Span_Link_Flags => reader.TryReadFixed32(wireType, "Span.Link.flags", ref failure, out _),
                _ => reader.TrySkip(wireType, "Span.Link", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool ReadStatus(ReadOnlySpan<byte> message, int baseOffset, scoped ref WireFailure failure)
    {
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("Status", ref failure, out int field, out int wireType))
            {
                return false;
            }

            bool ok = field switch
            {
                Status_Message => reader.TryReadString(wireType, "Status.message", ref failure, out _),
                Status_Code => reader.TryReadVarint(wireType, "Status.code", ref failure, out _),
                _ => reader.TrySkip(wireType, "Status", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
