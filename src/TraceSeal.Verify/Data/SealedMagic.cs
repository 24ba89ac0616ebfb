namespace TraceSeal.Verify.Data;

/// <summary>
/// The first bytes of every sealed object (docs/format.md §2: magic "TSEAL", then the version byte).
/// Copied here rather than referenced so `verify data` does not depend on the sealing library it checks;
/// keep in step with TraceSeal.Sealing's FormatConstants (Magic, Version1, Version2). The rest of the header is SealedHeader's.
/// </summary>
internal static class SealedMagic
{
    public static ReadOnlySpan<byte> Magic => "TSEAL"u8;

    /// <summary>§1-§8: one sealed object (a block, an index, a v1 WAL frame).</summary>
    public const byte ObjectVersion = 0x01;

    /// <summary>§14: a sealed log (the same header, then frames under one key: a v2 segment or block, a queue segment).</summary>
    public const byte LogVersion = 0x02;

    /// <summary>Versions this verifier knows; an unknown version is reported, not guessed at.</summary>
    public static readonly byte[] KnownVersions = [ObjectVersion, LogVersion];

    public const int PrefixLength = 6;

    public static bool HasMagic(ReadOnlySpan<byte> prefix) => prefix.Length >= Magic.Length && prefix[..Magic.Length].SequenceEqual(Magic);

    public static bool IsKnownVersion(ReadOnlySpan<byte> prefix) => prefix.Length >= PrefixLength && KnownVersions.Contains(prefix[Magic.Length]);

    public static bool IsVersion(ReadOnlySpan<byte> prefix, byte version) => HasMagic(prefix) && prefix.Length >= PrefixLength && prefix[Magic.Length] == version;
}
