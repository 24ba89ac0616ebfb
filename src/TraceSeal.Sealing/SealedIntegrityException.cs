namespace TraceSeal.Sealing;

/// <summary>
/// The object is not a valid sealed object, or it was corrupted or tampered with. The message is the
/// same for every cause (no oracle); <see cref="Code"/> is a stable snake_case label for metrics and
/// logs (docs/format.md §7).
/// </summary>
public sealed class SealedIntegrityException : Exception
{
    public const string BadMagic = "bad_magic";
    public const string UnsupportedVersion = "unsupported_version";
    public const string MalformedHeader = "malformed_header";
    public const string Truncated = "truncated";
    public const string StanzaUnwrapFailed = "stanza_unwrap_failed";
    public const string HeaderMacMismatch = "header_mac_mismatch";
    public const string ChunkAuthFailed = "chunk_auth_failed";
    public const string TrailingData = "trailing_data";

    internal const string OpaqueMessage = "sealed object failed integrity verification";

    /// <summary>An integrity failure with one of the codes of this class (layers above, e.g. a log reader, raise them too).</summary>
    public SealedIntegrityException(string code)
        : base(OpaqueMessage)
    {
        Code = code;
    }

    /// <summary>One of the constants of this class, e.g. <c>header_mac_mismatch</c>.</summary>
    public string Code { get; }

    public override string ToString() => $"{OpaqueMessage} ({Code})";
}
