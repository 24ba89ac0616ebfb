namespace TraceSeal.Otlp.Validation;

/// <summary>Protobuf wire types (protobuf.dev/programming-guides/encoding/#structure).</summary>
internal static class WireType
{
    public const int Varint = 0;
    public const int Fixed64 = 1;
    public const int Len = 2;
    public const int StartGroup = 3; // deprecated; no OTLP message uses groups
    public const int EndGroup = 4;
    public const int Fixed32 = 5;

    /// <summary>Constant problem text per expected wire type, so a wrong-type failure does not format.</summary>
    public static string Expected(int wireType) => wireType switch
    {
        Varint => "expected wire type VARINT (0)",
        Fixed64 => "expected wire type I64 (1)",
        Len => "expected wire type LEN (2)",
        Fixed32 => "expected wire type I32 (5)",
        _ => "unexpected wire type",
    };
}
