using System.Buffers.Binary;
using System.Text;

namespace TraceSeal.Verify.Data;

/// <summary>
/// Reads the unauthenticated header of a sealed object (docs/format.md §2–§3) far enough to say what it is and
/// whom it is sealed to: kind, tenant and the recipients' key ids. Like <see cref="SealedMagic"/> this is a copy
/// of the spec's numbers, not a reference to TraceSeal.Sealing, so the verifier checks the writer instead of
/// sharing its bugs; keep it in step with Sealing's FormatConstants and HeaderCodec. No key is needed and the
/// header MAC is not checked (that takes the file key).
/// </summary>
internal static class SealedHeader
{
    // §2: magic(5) version(1) kind(1) tenant_len(1) tenant(T) object_id(16) created(8) payload_salt(32)
    private const int KindOffset = 6;
    private const int TenantLengthOffset = 7;
    private const int TenantOffset = 8;
    private const int ObjectIdLength = 16;
    private const int CreatedLength = 8;
    private const int PayloadSaltLength = 32;

    /// <summary>Object context length without the tenant: 64 + T in total.</summary>
    private const int ObjectContextFixedLength = TenantOffset + ObjectIdLength + CreatedLength + PayloadSaltLength;

    public const int HeaderMacLength = 32;

    // §3: type(1) key_id(16) ephemeral_point(65|97) wrapped_file_key(48)
    public const int KeyIdLength = 16;
    private const int WrappedFileKeyLength = 48;
    private const byte StanzaP256 = 0x01;
    private const byte StanzaP384 = 0x02;
    private const int PointP256 = 65;
    private const int PointP384 = 97;

    private const int MaxTenantLength = 255;
    private const int MaxStanzas = 255;

    /// <summary>The longest header the format allows: the most bytes a reader needs for <see cref="Parse"/>.</summary>
    public const int MaxLength = ObjectContextFixedLength + MaxTenantLength + 1 + MaxStanzas * (1 + KeyIdLength + PointP384 + WrappedFileKeyLength) + HeaderMacLength;

    public static readonly IReadOnlyDictionary<byte, string> Kinds = new Dictionary<byte, string>
    {
        [0x01] = "wal-segment",
        [0x02] = "block",
        [0x03] = "index",
        [0x04] = "queue",
    };

    public enum Problem
    {
        None,

        /// <summary>The input ends inside the header (`truncated`).</summary>
        Truncated,

        /// <summary>Unknown kind or stanza type, tenant_len 0, invalid UTF-8 tenant, created ≥ 2^63 (`malformed_header`).</summary>
        Malformed,

        /// <summary>stanza_count 0: sealed to nobody (also `malformed_header` for a reader).</summary>
        NoRecipient,
    }

    /// <param name="KeyIds">32 lowercase hex digits each, in stanza order, as the CLI shows them.</param>
    public sealed record Result(Problem Problem, string Detail, byte Kind = 0, string Tenant = "", IReadOnlyList<string>? KeyIds = null, int Length = 0)
    {
        public bool Ok => Problem == Problem.None;

        public string KindName => Kinds.TryGetValue(Kind, out var name) ? name : $"0x{Kind:x2}";
    }

    /// <summary>Parses the header at the start of <paramref name="data"/>, whose magic and version the caller has
    /// checked (<see cref="SealedMagic"/>). Every length is checked before the field is read.</summary>
    public static Result Parse(ReadOnlySpan<byte> data)
    {
        if (data.Length < TenantOffset)
        {
            return Fail(Problem.Truncated, $"ends at byte {data.Length}, inside the header");
        }

        byte kind = data[KindOffset];
        if (!Kinds.ContainsKey(kind))
        {
            return Fail(Problem.Malformed, $"unknown kind 0x{kind:x2}");
        }

        int tenantLength = data[TenantLengthOffset];
        if (tenantLength == 0)
        {
            return Fail(Problem.Malformed, "tenant_len is 0");
        }

        int stanzaCountOffset = ObjectContextFixedLength + tenantLength;
        if (data.Length < stanzaCountOffset + 1)
        {
            return Fail(Problem.Truncated, $"ends at byte {data.Length}, inside the object context ({stanzaCountOffset} bytes)");
        }

        string tenant;
        try
        {
            tenant = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(data.Slice(TenantOffset, tenantLength));
        }
        catch (DecoderFallbackException)
        {
            return Fail(Problem.Malformed, "the tenant is not valid UTF-8");
        }

        ulong created = BinaryPrimitives.ReadUInt64BigEndian(data.Slice(TenantOffset + tenantLength + ObjectIdLength, CreatedLength));
        if (created >= 1UL << 63)
        {
            return Fail(Problem.Malformed, "created is 2^63 or later");
        }

        int stanzaCount = data[stanzaCountOffset];
        if (stanzaCount == 0)
        {
            return new Result(Problem.NoRecipient, "stanza_count is 0: sealed to no recipient", kind, tenant, []);
        }

        var keyIds = new List<string>(stanzaCount);
        int pos = stanzaCountOffset + 1;
        for (int i = 0; i < stanzaCount; i++)
        {
            if (data.Length < pos + 1)
            {
                return Fail(Problem.Truncated, $"ends at byte {data.Length}, inside stanza {i + 1} of {stanzaCount}");
            }

            int point = data[pos] switch
            {
                StanzaP256 => PointP256,
                StanzaP384 => PointP384,
                _ => 0,
            };
            if (point == 0)
            {
                return Fail(Problem.Malformed, $"stanza {i + 1} of {stanzaCount} has unknown type 0x{data[pos]:x2}");
            }

            int stanzaLength = 1 + KeyIdLength + point + WrappedFileKeyLength;
            if (data.Length < pos + stanzaLength)
            {
                return Fail(Problem.Truncated, $"ends at byte {data.Length}, inside stanza {i + 1} of {stanzaCount}");
            }

            keyIds.Add(Convert.ToHexStringLower(data.Slice(pos + 1, KeyIdLength)));
            pos += stanzaLength;
        }

        int length = pos + HeaderMacLength;
        if (data.Length < length)
        {
            return Fail(Problem.Truncated, $"ends at byte {data.Length}, inside the header MAC");
        }

        return new Result(Problem.None, $"{Kinds[kind]} for tenant {tenant}, {keyIds.Count} recipient(s)", kind, tenant, keyIds, length);
    }

    private static Result Fail(Problem problem, string detail) => new(problem, detail);
}
