namespace TraceSeal.Sealing;

/// <summary>
/// The header fields of a sealed object. From <see cref="Sealer.ReadHeader"/> they are NOT authenticated
/// (no key was used); from <see cref="Sealer.Open(ReadOnlySpan{byte}, IReadOnlyList{IIdentity}, out SealedObjectInfo)"/>
/// they are, by the header MAC.
/// </summary>
public sealed class SealedObjectInfo
{
    /// <summary>Format version: 1 a sealed object (docs/format.md §1-§8), 2 a sealed log (§14).</summary>
    public int Version { get; init; } = 1;

    /// <summary>"wal-segment", "block", "index" or "queue".</summary>
    public required string Kind { get; init; }

    public required ObjectKind ObjectKind { get; init; }

    public required string Tenant { get; init; }

    /// <summary>16 random bytes as 32 lowercase hex digits.</summary>
    public required string ObjectId { get; init; }

    /// <summary>Creation time rounded down to a 60-second bucket.</summary>
    public required long CreatedUnixSeconds { get; init; }

    /// <summary>Key ids of the recipients the object is sealed to, in stanza order.</summary>
    public required IReadOnlyList<string> RecipientKeyIds { get; init; }

    /// <summary>Length of the header in bytes; the payload starts here.</summary>
    public required int HeaderLength { get; init; }
}
