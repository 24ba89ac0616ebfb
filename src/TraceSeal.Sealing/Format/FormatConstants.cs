namespace TraceSeal.Sealing.Format;

/// <summary>
/// The numbers of docs/format.md, named as in the spec. Do not change any value: objects already
/// on disk depend on them (a change is a new format version).
/// </summary>
internal static class FormatConstants
{
    // §2 Header layout
    public static ReadOnlySpan<byte> Magic => "TSEAL"u8;
    public const int MagicLength = 5;
    public const byte Version1 = 0x01;

    /// <summary>§14: a sealed log (header as §2, then frames sealed under one key agreement).</summary>
    public const byte Version2 = 0x02;
    public const int MaxTenantLength = 255;
    public const int ObjectIdLength = 16;
    public const int CreatedLength = 8;
    public const int PayloadSaltLength = 32;
    public const int MaxStanzas = 255;
    public const int HeaderMacLength = 32;

    /// <summary>magic ‖ version ‖ kind ‖ tenant_len: the fixed prefix before the tenant bytes (§2).</summary>
    public const int FixedPrefixLength = MagicLength + 3;

    // §3 Recipient stanzas
    public const int KeyIdLength = 16;
    public const int FileKeyLength = 32;
    public const int WrappedFileKeyLength = FileKeyLength + TagLength;
    public const byte StanzaTypeP256 = 0x01;
    public const byte StanzaTypeP384 = 0x02;
    public const int PointLengthP256 = 65;
    public const int PointLengthP384 = 97;

    // §4 Key schedule: every HKDF-SHA-256 info label.
    public static ReadOnlySpan<byte> LabelWrap => "traceseal/v1/wrap"u8;
    public static ReadOnlySpan<byte> LabelHeader => "traceseal/v1/header"u8;
    public static ReadOnlySpan<byte> LabelPayload => "traceseal/v1/payload"u8;
    public static ReadOnlySpan<byte> LabelLog => "traceseal/v2/log"u8;
    public const int WrapKeyLength = 32;
    public const int HeaderKeyLength = 32;
    public const int PayloadKeyLength = 32;

    // §5 Payload: age STREAM over AES-256-GCM.
    public const int ChunkSize = 64 * 1024;
    public const int TagLength = 16;
    public const int EncryptedChunkSize = ChunkSize + TagLength;
    public const int NonceLength = 12;
    public const int NonceCounterLength = 11;
    public const byte LastChunkFlag = 0x01;
    public const byte NotLastChunkFlag = 0x00;
    public const int ObjectContextHashLength = 32;

    // §14 Sealed log (version 2): frames, each its own chunk sequence under the log key.
    public const int LogFrameLengthPrefix = 4;
    public const int LogNonceFrameLength = 4;
    public const int LogNonceChunkLength = 7;
    public const byte LogMoreChunksFlag = 0x00;
    public const byte LogFrameEndFlag = 0x01;
    public const byte LogEndFlag = 0x03;

    /// <summary>The end frame: `length = 16` ‖ the tag of an empty chunk flagged <see cref="LogEndFlag"/>.</summary>
    public const int LogEndFrameLength = LogFrameLengthPrefix + TagLength;

    // §2 writer policy: the created field is rounded down to this bucket.
    public const long CreatedBucketSeconds = 60;
}
