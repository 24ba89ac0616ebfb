using TraceSeal.Sealing.Format;
using TraceSeal.Sealing.Randomness;
using TraceSeal.Sealing.Streaming;
using static TraceSeal.Sealing.Format.FormatConstants;

namespace TraceSeal.Sealing;

/// <summary>
/// Seal objects to recipients and open them with identities: sealed object format v1 (docs/format.md).
/// Every object gets a fresh random file key; nothing here keeps key material after returning.
/// </summary>
public static class Sealer
{
    /// <summary>
    /// Streaming seal: writes the header to <paramref name="destination"/> now and returns a write-only
    /// stream that encrypts chunk by chunk. Disposing it writes the final chunk (an object without it
    /// is rejected as truncated). <paramref name="destination"/> is not disposed.
    /// </summary>
    public static System.IO.Stream Seal(System.IO.Stream destination, ObjectKind kind, string tenant, IReadOnlyList<IRecipient> recipients) =>
        Seal(destination, kind, tenant, recipients, SystemRandomSource.Instance, DateTimeOffset.UtcNow);

    public static byte[] Seal(ReadOnlySpan<byte> plaintext, ObjectKind kind, string tenant, IReadOnlyList<IRecipient> recipients) =>
        Seal(plaintext, kind, tenant, recipients, SystemRandomSource.Instance, DateTimeOffset.UtcNow);

    /// <summary>
    /// Opens a whole object: returns the plaintext only if the header and every chunk authenticate.
    /// Throws <see cref="NoIdentityMatchException"/> if no identity is a recipient, and
    /// <see cref="SealedIntegrityException"/> on any corruption or tampering.
    /// </summary>
    public static byte[] Open(ReadOnlySpan<byte> sealedObject, IReadOnlyList<IIdentity> identities, out SealedObjectInfo info)
    {
        var header = HeaderCodec.Decode(sealedObject);
        RequireObject(header);
        using var cipher = Envelope.Open(header, identities);
        var payload = sealedObject[header.Bytes.Length..];

        // Chunk positions come from the lengths alone (§5): full chunks, then the final chunk. A final
        // chunk shorter than a tag is reported as truncated when it is reached, after the chunks before
        // it, so that both APIs name the same first failure.
        int fullChunks = payload.Length / EncryptedChunkSize;
        int rest = payload.Length % EncryptedChunkSize;
        int chunks = rest == 0 ? fullChunks : fullChunks + 1;
        if (chunks == 0)
        {
            throw new SealedIntegrityException(SealedIntegrityException.Truncated);
        }

        var plaintext = new byte[Math.Max(payload.Length - (chunks * TagLength), fullChunks * ChunkSize)];
        int inPos = 0;
        int outPos = 0;
        try
        {
            for (int i = 0; i < chunks; i++)
            {
                bool last = i == chunks - 1;
                int length = last ? payload.Length - inPos : EncryptedChunkSize;
                outPos += cipher.DecryptChunk(payload.Slice(inPos, length), last, plaintext.AsSpan(outPos));
                inPos += length;
            }
        }
        catch
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(plaintext);
            throw;
        }

        info = header.ToInfo();
        return plaintext;
    }

    /// <summary>
    /// Streaming open: reads and verifies the header now (throws as <see cref="Open(ReadOnlySpan{byte}, IReadOnlyList{IIdentity}, out SealedObjectInfo)"/>),
    /// then returns a read-only stream of the plaintext. Each chunk is released only after it
    /// authenticated, but truncation, trailing data and later corruption surface as
    /// <see cref="SealedIntegrityException"/> from Read: read to the end before trusting the object.
    /// <paramref name="source"/> is not disposed.
    /// </summary>
    public static System.IO.Stream Open(System.IO.Stream source, IReadOnlyList<IIdentity> identities, out SealedObjectInfo info)
    {
        ArgumentNullException.ThrowIfNull(source);
        var header = HeaderCodec.Read(source);
        RequireObject(header);
        var cipher = Envelope.Open(header, identities);
        info = header.ToInfo();
        return new OpeningStream(source, cipher);
    }

    /// <summary>
    /// The header fields without any key: kind, tenant, object id, created, recipient key ids.
    /// NOT authenticated — use it to route or to ask "which key does this want", never to trust.
    /// </summary>
    public static SealedObjectInfo ReadHeader(ReadOnlySpan<byte> sealedObject) => HeaderCodec.Decode(sealedObject).ToInfo();

    /// <summary>
    /// Key rotation: unwraps the file key with one of <paramref name="identities"/>, checks the header
    /// MAC, and returns the object with a new header (same object context, stanzas for
    /// <paramref name="newRecipients"/>, new MAC) followed by the unchanged payload bytes. The payload is
    /// not decrypted or checked here (docs/format.md §8).
    /// </summary>
    public static byte[] Rewrap(ReadOnlySpan<byte> sealedObject, IReadOnlyList<IIdentity> identities, IReadOnlyList<IRecipient> newRecipients) =>
        Rewrap(sealedObject, identities, newRecipients, SystemRandomSource.Instance);

    /// <summary>A sealed log (version 2) is opened frame by frame with <see cref="SealedLogReader"/>, never as one object.</summary>
    private static void RequireObject(Header header)
    {
        if (header.Version != Version1)
        {
            throw new SealedIntegrityException(SealedIntegrityException.UnsupportedVersion);
        }
    }

    internal static System.IO.Stream Seal(
        System.IO.Stream destination, ObjectKind kind, string tenant, IReadOnlyList<IRecipient> recipients, IRandomSource random, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (!destination.CanWrite)
        {
            throw new ArgumentException("destination must be writable", nameof(destination));
        }

        var (header, cipher) = Envelope.Begin(kind, tenant, recipients, random, now);
        try
        {
            return new SealingStream(destination, header, cipher);
        }
        catch
        {
            cipher.Dispose();
            throw;
        }
    }

    internal static byte[] Seal(
        ReadOnlySpan<byte> plaintext, ObjectKind kind, string tenant, IReadOnlyList<IRecipient> recipients, IRandomSource random, DateTimeOffset now)
    {
        var (header, cipher) = Envelope.Begin(kind, tenant, recipients, random, now);
        using (cipher)
        {
            int chunks = Math.Max(1, (plaintext.Length + ChunkSize - 1) / ChunkSize);
            var output = new byte[header.Length + plaintext.Length + (chunks * TagLength)];
            header.CopyTo(output, 0);
            int outPos = header.Length;
            for (int i = 0; i < chunks; i++)
            {
                var chunk = plaintext.Slice(i * ChunkSize, Math.Min(ChunkSize, plaintext.Length - (i * ChunkSize)));
                cipher.EncryptChunk(chunk, i == chunks - 1, output.AsSpan(outPos, chunk.Length + TagLength));
                outPos += chunk.Length + TagLength;
            }

            return output;
        }
    }

    internal static byte[] Rewrap(
        ReadOnlySpan<byte> sealedObject, IReadOnlyList<IIdentity> identities, IReadOnlyList<IRecipient> newRecipients, IRandomSource random)
    {
        var header = HeaderCodec.Decode(sealedObject);
        var newHeader = Envelope.Rewrap(header, identities, newRecipients, random);
        var payload = sealedObject[header.Bytes.Length..];
        var output = new byte[newHeader.Length + payload.Length];
        newHeader.CopyTo(output, 0);
        payload.CopyTo(output.AsSpan(newHeader.Length));
        return output;
    }
}
