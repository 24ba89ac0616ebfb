namespace TraceSeal.Otlp.Validation;

/// <summary>Field numbers of opentelemetry/proto/{common,resource}/v1 (see Protos/), named after the proto path.</summary>
internal static class CommonFields
{
    public const int AnyValue_StringValue = 1;
    public const int AnyValue_BoolValue = 2;
    public const int AnyValue_IntValue = 3;
    public const int AnyValue_DoubleValue = 4;
    public const int AnyValue_ArrayValue = 5;
    public const int AnyValue_KvlistValue = 6;
    public const int AnyValue_BytesValue = 7;

    public const int ArrayValue_Values = 1;
    public const int KeyValueList_Values = 1;

    public const int KeyValue_Key = 1;
    public const int KeyValue_Value = 2;

    public const int InstrumentationScope_Name = 1;
    public const int InstrumentationScope_Version = 2;
    public const int InstrumentationScope_Attributes = 3;
    public const int InstrumentationScope_DroppedAttributesCount = 4;

    public const int EntityRef_SchemaUrl = 1;
    public const int EntityRef_Type = 2;
    public const int EntityRef_IdKeys = 3;
    public const int EntityRef_DescriptionKeys = 4;

    public const int Resource_Attributes = 1;
    public const int Resource_DroppedAttributesCount = 2;
    public const int Resource_EntityRefs = 3;
}
