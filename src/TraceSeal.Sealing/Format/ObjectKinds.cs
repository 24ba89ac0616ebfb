namespace TraceSeal.Sealing.Format;

/// <summary>Kind bytes and their names (docs/format.md §2, "kind").</summary>
internal static class ObjectKinds
{
    public static bool IsDefined(byte kind) => kind is >= (byte)ObjectKind.WalSegment and <= (byte)ObjectKind.Queue;

    public static string Name(ObjectKind kind) => kind switch
    {
        ObjectKind.WalSegment => "wal-segment",
        ObjectKind.Block => "block",
        ObjectKind.Index => "index",
        ObjectKind.Queue => "queue",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown object kind"),
    };
}
