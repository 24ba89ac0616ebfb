namespace TraceSeal.Verify.Data;

/// <summary>
/// The first bytes of every sealed object (docs/format.md §2: magic "TSEAL", then the version byte).
/// Copied here rather than referenced so `verify data` does not depend on the sealing library it checks;
/// keep in step with TraceSeal.Sealing's FormatConstants (Magic, Version1). The rest of the header is SealedHeader's.
/// </summary>
internal static class SealedMagic
{
    public static ReadOnlySpan<byte> Magic => "TSEAL"u8;

    /// <summary>Versions this verifier knows; an unknown version is reported, not guessed at.</summary>
    public static readonly byte[] KnownVersions = [0x01];

    public const int PrefixLength = 6;

    public static bool HasMagic(ReadOnlySpan<byte> prefix) => prefix.Length >= Magic.Length && prefix[..Magic.Length].SequenceEqual(Magic);

    public static bool IsKnownVersion(ReadOnlySpan<byte> prefix) => prefix.Length >= PrefixLength && KnownVersions.Contains(prefix[Magic.Length]);
}
