namespace TraceSeal.Otlp.Validation;

/// <summary>Field numbers of opentelemetry/proto/{trace,collector/trace}/v1, named after the proto path.</summary>
internal static class TraceFields
{
    public const int ExportTraceServiceRequest_ResourceSpans = 1;

    public const int ResourceSpans_Resource = 1;
    public const int ResourceSpans_ScopeSpans = 2;
    public const int ResourceSpans_SchemaUrl = 3;

    public const int ScopeSpans_Scope = 1;
    public const int ScopeSpans_Spans = 2;
    public const int ScopeSpans_SchemaUrl = 3;

    public const int Span_TraceId = 1;
    public const int Span_SpanId = 2;
    public const int Span_TraceState = 3;
    public const int Span_ParentSpanId = 4;
    public const int Span_Name = 5;
    public const int Span_Kind = 6;
    public const int Span_StartTimeUnixNano = 7;
    public const int Span_EndTimeUnixNano = 8;
    public const int Span_Attributes = 9;
    public const int Span_DroppedAttributesCount = 10;
    public const int Span_Events = 11;
    public const int Span_DroppedEventsCount = 12;
    public const int Span_Links = 13;
    public const int Span_DroppedLinksCount = 14;
    public const int Span_Status = 15;
    public const int Span_Flags = 16;

    public const int Span_Event_TimeUnixNano = 1;
    public const int Span_Event_Name = 2;
    public const int Span_Event_Attributes = 3;
    public const int Span_Event_DroppedAttributesCount = 4;

    public const int Span_Link_TraceId = 1;
    public const int Span_Link_SpanId = 2;
    public const int Span_Link_TraceState = 3;
    public const int Span_Link_Attributes = 4;
    public const int Span_Link_DroppedAttributesCount = 5;
    public const int Span_Link_Flags = 6;

    public const int Status_Message = 2;
    public const int Status_Code = 3;
}
