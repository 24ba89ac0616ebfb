using TraceSeal.Sealing.Recipients;

namespace TraceSeal.Sealing.Format;

/// <summary>A parsed header (docs/format.md §2). <see cref="Bytes"/> is the exact encoding, MAC included.</summary>
internal sealed class Header
{
    /// <summary>0x01 a sealed object (§1-§8), 0x02 a sealed log (§14).</summary>
    public required byte Version { get; init; }

    public required ObjectKind Kind { get; init; }

    public required string Tenant { get; init; }

    public required byte[] ObjectId { get; init; }

    public required long CreatedUnixSeconds { get; init; }

    public required byte[] PayloadSalt { get; init; }

    public required IReadOnlyList<Stanza> Stanzas { get; init; }

    /// <summary>The whole header: object context ‖ stanza count ‖ stanzas ‖ header MAC.</summary>
    public required byte[] Bytes { get; init; }

    /// <summary>Length of the object context prefix (magic .. payload salt), which rewrap never changes.</summary>
    public required int ObjectContextLength { get; init; }

    public ReadOnlySpan<byte> ObjectContext => Bytes.AsSpan(0, ObjectContextLength);

    public ReadOnlySpan<byte> MacInput => Bytes.AsSpan(0, Bytes.Length - FormatConstants.HeaderMacLength);

    public ReadOnlySpan<byte> Mac => Bytes.AsSpan(Bytes.Length - FormatConstants.HeaderMacLength);

    public SealedObjectInfo ToInfo()
    {
        var keyIds = new string[Stanzas.Count];
        for (int i = 0; i < keyIds.Length; i++)
        {
            keyIds[i] = KeyIds.Format(Stanzas[i].KeyId);
        }

        return new SealedObjectInfo
        {
            Version = Version,
            Kind = ObjectKinds.Name(Kind),
            ObjectKind = Kind,
            Tenant = Tenant,
            ObjectId = Convert.ToHexStringLower(ObjectId),
            CreatedUnixSeconds = CreatedUnixSeconds,
            RecipientKeyIds = keyIds,
            HeaderLength = Bytes.Length,
        };
    }
}
