using System.Buffers.Binary;
using System.Text;
using TraceSeal.Sealing.Recipients;
using static TraceSeal.Sealing.Format.FormatConstants;

namespace TraceSeal.Sealing.Format;

/// <summary>
/// Encodes and decodes the v1 header (docs/format.md §2, §3). All integers big-endian.
/// <code>
///  +-------+---------+------+------------+----------------+-----------+-------------+--------------+
///  | magic | version | kind | tenant_len | tenant (UTF-8) | object_id |   created   | payload_salt |   object context
///  |  5 B  |   1 B   | 1 B  |    1 B     |   1..255 B     |   16 B    | 8 B (u64 s) |     32 B     |   (rewrap keeps it)
///  +-------+---------+------+------------+----------------+-----------+-------------+--------------+
///  | stanza_count 1 B (1..255) | stanza × count | header_mac 32 B |
///  stanza: | type 1 B | key_id 16 B | ephemeral point 65/97 B | wrapped file key 48 B |
/// </code>
/// Lengths are checked before anything is read; the header is parsed without any key.
/// </summary>
internal static class HeaderCodec
{
    private const int StanzaFixedLength = 1 + KeyIdLength + WrappedFileKeyLength;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static byte[] EncodeTenant(string tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var bytes = StrictUtf8.GetBytes(tenant);
        if (bytes.Length is 0 or > MaxTenantLength)
        {
            throw new ArgumentException($"tenant must be 1..{MaxTenantLength} bytes of UTF-8, got {bytes.Length}", nameof(tenant));
        }

        return bytes;
    }

    /// <summary>magic ‖ version ‖ kind ‖ tenant_len ‖ tenant ‖ object_id ‖ created ‖ payload_salt.</summary>
    public static byte[] EncodeObjectContext(ObjectKind kind, byte[] tenant, ReadOnlySpan<byte> objectId, long created, ReadOnlySpan<byte> payloadSalt, byte version = Version1)
    {
        var context = new byte[FixedPrefixLength + tenant.Length + ObjectIdLength + CreatedLength + PayloadSaltLength];
        var span = context.AsSpan();
        Magic.CopyTo(span);
        span[MagicLength] = version;
        span[MagicLength + 1] = (byte)kind;
        span[MagicLength + 2] = (byte)tenant.Length;
        int pos = FixedPrefixLength;
        tenant.CopyTo(span[pos..]);
        pos += tenant.Length;
        objectId.CopyTo(span[pos..]);
        pos += ObjectIdLength;
        BinaryPrimitives.WriteInt64BigEndian(span[pos..], created);
        pos += CreatedLength;
        payloadSalt.CopyTo(span[pos..]);
        return context;
    }

    /// <summary>object context ‖ stanza_count ‖ stanzas ‖ HMAC-SHA-256(header_key, everything before).</summary>
    public static byte[] EncodeHeader(ReadOnlySpan<byte> objectContext, IReadOnlyList<Stanza> stanzas, ReadOnlySpan<byte> fileKey)
    {
        if (stanzas.Count is 0 or > MaxStanzas)
        {
            throw new ArgumentException($"an object needs 1..{MaxStanzas} recipients, got {stanzas.Count}");
        }

        int length = objectContext.Length + 1 + HeaderMacLength;
        foreach (var stanza in stanzas)
        {
            length += StanzaFixedLength + stanza.EphemeralPoint.Length;
        }

        var header = new byte[length];
        var span = header.AsSpan();
        objectContext.CopyTo(span);
        int pos = objectContext.Length;
        span[pos++] = (byte)stanzas.Count;
        foreach (var stanza in stanzas)
        {
            span[pos++] = stanza.Type;
            stanza.KeyId.CopyTo(span[pos..]);
            pos += KeyIdLength;
            stanza.EphemeralPoint.CopyTo(span[pos..]);
            pos += stanza.EphemeralPoint.Length;
            stanza.WrappedFileKey.CopyTo(span[pos..]);
            pos += WrappedFileKeyLength;
        }

        KeySchedule.ComputeHeaderMac(fileKey, span[..pos], span[pos..]);
        return header;
    }

    /// <summary>
    /// How many bytes the header needs, judged from the bytes seen so far: a result larger than
    /// <paramref name="prefix"/>.Length means "read up to that length and ask again". Throws
    /// bad_magic / unsupported_version / malformed_header as soon as the prefix shows them.
    /// </summary>
    public static int RequiredLength(ReadOnlySpan<byte> prefix)
    {
        int magicSeen = Math.Min(prefix.Length, MagicLength);
        if (!prefix[..magicSeen].SequenceEqual(Magic[..magicSeen]))
        {
            throw new SealedIntegrityException(SealedIntegrityException.BadMagic);
        }

        if (prefix.Length < FixedPrefixLength)
        {
            return FixedPrefixLength;
        }

        if (prefix[MagicLength] is not (Version1 or Version2))
        {
            throw new SealedIntegrityException(SealedIntegrityException.UnsupportedVersion);
        }

        if (!ObjectKinds.IsDefined(prefix[MagicLength + 1]) || prefix[MagicLength + 2] == 0)
        {
            throw new SealedIntegrityException(SealedIntegrityException.MalformedHeader);
        }

        int pos = FixedPrefixLength + prefix[MagicLength + 2] + ObjectIdLength + CreatedLength + PayloadSaltLength;
        if (prefix.Length <= pos)
        {
            return pos + 1;
        }

        int count = prefix[pos++];
        if (count == 0)
        {
            throw new SealedIntegrityException(SealedIntegrityException.MalformedHeader);
        }

        for (int i = 0; i < count; i++)
        {
            if (prefix.Length <= pos)
            {
                return pos + 1;
            }

            var curve = EcCurveInfo.FromStanzaType(prefix[pos])
                ?? throw new SealedIntegrityException(SealedIntegrityException.MalformedHeader);
            pos += StanzaFixedLength + curve.PointLength;
        }

        return pos + HeaderMacLength;
    }

    /// <summary>Parses the header at the start of <paramref name="data"/> (the payload may follow).</summary>
    public static Header Decode(ReadOnlySpan<byte> data)
    {
        int length = FixedPrefixLength;
        while (true)
        {
            if (data.Length < length)
            {
                // Say what the bytes we do have say (bad magic, bad version) before calling it truncated.
                RequiredLength(data);
                throw new SealedIntegrityException(SealedIntegrityException.Truncated);
            }

            int required = RequiredLength(data[..length]);
            if (required == length)
            {
                break;
            }

            length = required;
        }

        return DecodeExact(data[..length].ToArray());
    }

    /// <summary>Reads exactly one header from <paramref name="source"/>, never past its end.</summary>
    public static Header Read(System.IO.Stream source)
    {
        var buffer = new byte[FixedPrefixLength];
        int have = 0;
        while (true)
        {
            while (have < buffer.Length)
            {
                int n = source.Read(buffer, have, buffer.Length - have);
                if (n == 0)
                {
                    // Say what the bytes we do have say (bad magic) before calling it truncated.
                    RequiredLength(buffer.AsSpan(0, have));
                    throw new SealedIntegrityException(SealedIntegrityException.Truncated);
                }

                have += n;
            }

            int required = RequiredLength(buffer);
            if (required == buffer.Length)
            {
                return DecodeExact(buffer);
            }

            Array.Resize(ref buffer, required);
        }
    }

    private static Header DecodeExact(byte[] header)
    {
        var span = header.AsSpan();
        var kind = (ObjectKind)span[MagicLength + 1];
        int tenantLength = span[MagicLength + 2];
        int pos = FixedPrefixLength;
        string tenant;
        try
        {
            tenant = StrictUtf8.GetString(span.Slice(pos, tenantLength));
        }
        catch (DecoderFallbackException)
        {
            throw new SealedIntegrityException(SealedIntegrityException.MalformedHeader);
        }

        pos += tenantLength;
        var objectId = span.Slice(pos, ObjectIdLength).ToArray();
        pos += ObjectIdLength;
        long created = BinaryPrimitives.ReadInt64BigEndian(span[pos..]);
        if (created < 0)
        {
            throw new SealedIntegrityException(SealedIntegrityException.MalformedHeader);
        }

        pos += CreatedLength;
        var salt = span.Slice(pos, PayloadSaltLength).ToArray();
        pos += PayloadSaltLength;
        int contextLength = pos;
        int count = span[pos++];
        var stanzas = new Stanza[count];
        for (int i = 0; i < count; i++)
        {
            var curve = EcCurveInfo.FromStanzaType(span[pos])!;
            byte type = span[pos++];
            var keyId = span.Slice(pos, KeyIdLength).ToArray();
            pos += KeyIdLength;
            var point = span.Slice(pos, curve.PointLength).ToArray();
            pos += curve.PointLength;
            var wrapped = span.Slice(pos, WrappedFileKeyLength).ToArray();
            pos += WrappedFileKeyLength;
            stanzas[i] = new Stanza(type, keyId, point, wrapped);
        }

        return new Header
        {
            Version = span[MagicLength],
            Kind = kind,
            Tenant = tenant,
            ObjectId = objectId,
            CreatedUnixSeconds = created,
            PayloadSalt = salt,
            Stanzas = stanzas,
            Bytes = header,
            ObjectContextLength = contextLength,
        };
    }
}
