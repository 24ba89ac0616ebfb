using System.Security.Cryptography;
using TraceSeal.Sealing.Format;
using TraceSeal.Sealing.Randomness;
using TraceSeal.Sealing.Recipients;
using TraceSeal.Sealing.Streaming;
using static TraceSeal.Sealing.Format.FormatConstants;

namespace TraceSeal.Sealing;

/// <summary>
/// The key handling behind <see cref="Sealer"/> (docs/format.md §4): makes the file key, wraps it,
/// writes the header; or unwraps it, checks the header MAC, and hands out the payload cipher. The file
/// key lives only inside these methods and is zeroed before they return.
/// </summary>
internal static class Envelope
{
    /// <summary>Randomness is drawn in this order, which the test vectors depend on (§9): file key, object id, payload salt, then one ephemeral scalar per recipient.</summary>
    public static (byte[] Header, PayloadCipher Cipher) Begin(
        ObjectKind kind, string tenant, IReadOnlyList<IRecipient> recipients, IRandomSource random, DateTimeOffset now)
    {
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown object kind");
        }

        return BeginCore(kind, tenant, recipients, random, now, Version1, static (fileKey, salt, context) => new PayloadCipher(fileKey, salt, context));
    }

    /// <summary>
    /// A sealed log (§14): the same header and draws as <see cref="Begin"/> with version 0x02, and the log
    /// cipher under `HKDF(file_key, payload_salt, "traceseal/v2/log")` instead of the STREAM payload cipher.
    /// </summary>
    public static (byte[] Header, LogCipher Cipher) BeginLog(
        ObjectKind kind, string tenant, IReadOnlyList<IRecipient> recipients, IRandomSource random, DateTimeOffset now)
    {
        if (kind is not (ObjectKind.WalSegment or ObjectKind.Queue))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "a sealed log is a wal-segment or a queue");
        }

        return BeginCore(kind, tenant, recipients, random, now, Version2, static (fileKey, salt, context) => new LogCipher(fileKey, salt, context));
    }

    /// <summary>
    /// <see cref="BeginLog(ObjectKind, string, IReadOnlyList{IRecipient}, IRandomSource, DateTimeOffset)"/>, plus a
    /// <b>key header</b> (§14.11): the same object context and file key, wrapped to <paramref name="keyRecipients"/>
    /// instead, with its own header MAC — what a rewrap to those recipients would write, made while the file key is
    /// still at hand. It opens the log's frames for <paramref name="keyRecipients"/> without adding a stanza to the
    /// log's own header. Draws after every draw of the log header (so the log vectors are unchanged).
    /// </summary>
    public static (byte[] Header, byte[] KeyHeader, LogCipher Cipher) BeginLogWithKeyHeader(
        ObjectKind kind, string tenant, IReadOnlyList<IRecipient> recipients, IReadOnlyList<IRecipient> keyRecipients, IRandomSource random, DateTimeOffset now)
    {
        var keyStanzaRecipients = CheckRecipients(keyRecipients);
        byte[]? keyHeader = null;
        var (header, cipher) = BeginLog(kind, tenant, recipients, random, now, (context, fileKey) =>
            keyHeader = HeaderCodec.EncodeHeader(context, Wrap(keyStanzaRecipients, fileKey, random), fileKey));
        return (header, keyHeader!, cipher);
    }

    private delegate void FileKeyUse(byte[] objectContext, ReadOnlySpan<byte> fileKey);

    private static (byte[] Header, LogCipher Cipher) BeginLog(
        ObjectKind kind, string tenant, IReadOnlyList<IRecipient> recipients, IRandomSource random, DateTimeOffset now, FileKeyUse alsoWith)
    {
        if (kind is not (ObjectKind.WalSegment or ObjectKind.Queue))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "a sealed log is a wal-segment or a queue");
        }

        return BeginCore(kind, tenant, recipients, random, now, Version2, static (fileKey, salt, context) => new LogCipher(fileKey, salt, context), alsoWith);
    }

    private delegate T CipherFactory<out T>(ReadOnlySpan<byte> fileKey, ReadOnlySpan<byte> payloadSalt, ReadOnlySpan<byte> objectContext);

    private static (byte[] Header, T Cipher) BeginCore<T>(
        ObjectKind kind, string tenant, IReadOnlyList<IRecipient> recipients, IRandomSource random, DateTimeOffset now, byte version, CipherFactory<T> cipher, FileKeyUse? alsoWith = null)
    {
        var tenantBytes = HeaderCodec.EncodeTenant(tenant);
        var stanzaRecipients = CheckRecipients(recipients);
        long created = now.ToUnixTimeSeconds();
        created -= created % CreatedBucketSeconds;

        Span<byte> fileKey = stackalloc byte[FileKeyLength];
        Span<byte> objectId = stackalloc byte[ObjectIdLength];
        Span<byte> salt = stackalloc byte[PayloadSaltLength];
        try
        {
            random.Fill(fileKey);
            random.Fill(objectId);
            random.Fill(salt);
            var context = HeaderCodec.EncodeObjectContext(kind, tenantBytes, objectId, created, salt, version);
            var header = HeaderCodec.EncodeHeader(context, Wrap(stanzaRecipients, fileKey, random), fileKey);
            alsoWith?.Invoke(context, fileKey);
            return (header, cipher(fileKey, salt, context));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(fileKey);
        }
    }

    /// <summary>Unwraps the file key for one of <paramref name="identities"/> and verifies the header MAC.</summary>
    public static PayloadCipher Open(Header header, IReadOnlyList<IIdentity> identities) =>
        OpenCore(header, identities, static (fileKey, salt, context) => new PayloadCipher(fileKey, salt, context));

    /// <summary>Unwraps a sealed log's file key (§14) and verifies the header MAC.</summary>
    public static LogCipher OpenLog(Header header, IReadOnlyList<IIdentity> identities) =>
        OpenCore(header, identities, static (fileKey, salt, context) => new LogCipher(fileKey, salt, context));

    private static T OpenCore<T>(Header header, IReadOnlyList<IIdentity> identities, CipherFactory<T> cipher)
    {
        Span<byte> fileKey = stackalloc byte[FileKeyLength];
        try
        {
            UnwrapAndVerify(header, identities, fileKey);
            return cipher(fileKey, header.PayloadSalt, header.ObjectContext);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(fileKey);
        }
    }

    /// <summary>Same object context, new stanzas, new MAC under the same file key (§8).</summary>
    public static byte[] Rewrap(Header header, IReadOnlyList<IIdentity> identities, IReadOnlyList<IRecipient> newRecipients, IRandomSource random)
    {
        var stanzaRecipients = CheckRecipients(newRecipients);
        Span<byte> fileKey = stackalloc byte[FileKeyLength];
        try
        {
            UnwrapAndVerify(header, identities, fileKey);
            return HeaderCodec.EncodeHeader(header.ObjectContext, Wrap(stanzaRecipients, fileKey, random), fileKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(fileKey);
        }
    }

    private static void UnwrapAndVerify(Header header, IReadOnlyList<IIdentity> identities, Span<byte> fileKey)
    {
        ArgumentNullException.ThrowIfNull(identities);
        var stanzaIdentities = new IStanzaIdentity[identities.Count];
        for (int i = 0; i < stanzaIdentities.Length; i++)
        {
            stanzaIdentities[i] = identities[i] as IStanzaIdentity
                ?? throw new ArgumentException("identities must come from KeyFiles.LoadIdentity or KeyFiles.ParseIdentity", nameof(identities));
        }

        foreach (var stanza in header.Stanzas)
        {
            foreach (var identity in stanzaIdentities)
            {
                if (!identity.IsAddressee(stanza))
                {
                    continue;
                }

                // The key id matched: a stanza that then fails to unwrap was tampered with (§7).
                if (!identity.TryUnwrap(stanza, fileKey))
                {
                    throw new SealedIntegrityException(SealedIntegrityException.StanzaUnwrapFailed);
                }

                if (!KeySchedule.VerifyHeaderMac(fileKey, header))
                {
                    CryptographicOperations.ZeroMemory(fileKey);
                    throw new SealedIntegrityException(SealedIntegrityException.HeaderMacMismatch);
                }

                return;
            }
        }

        var offered = new string[stanzaIdentities.Length];
        for (int i = 0; i < offered.Length; i++)
        {
            offered[i] = stanzaIdentities[i].KeyId;
        }

        throw new NoIdentityMatchException(header.ToInfo().RecipientKeyIds, offered);
    }

    private static IStanzaRecipient[] CheckRecipients(IReadOnlyList<IRecipient> recipients)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        if (recipients.Count is 0 or > MaxStanzas)
        {
            throw new ArgumentException($"an object needs 1..{MaxStanzas} recipients, got {recipients.Count}", nameof(recipients));
        }

        var result = new IStanzaRecipient[recipients.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = recipients[i] as IStanzaRecipient
                ?? throw new ArgumentException("recipients must come from KeyFiles.LoadRecipient or KeyFiles.ParseRecipient", nameof(recipients));
        }

        return result;
    }

    private static Stanza[] Wrap(IStanzaRecipient[] recipients, ReadOnlySpan<byte> fileKey, IRandomSource random)
    {
        var stanzas = new Stanza[recipients.Length];
        for (int i = 0; i < stanzas.Length; i++)
        {
            stanzas[i] = recipients[i].Wrap(fileKey, random);
        }

        return stanzas;
    }
}
