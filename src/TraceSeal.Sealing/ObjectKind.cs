namespace TraceSeal.Sealing;

/// <summary>What a sealed object holds; the value is the header's <c>kind</c> byte (docs/format.md §2).</summary>
public enum ObjectKind : byte
{
    WalSegment = 0x01,
    Block = 0x02,
    Index = 0x03,
    Queue = 0x04,
}
