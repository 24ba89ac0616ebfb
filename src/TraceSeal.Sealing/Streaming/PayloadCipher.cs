using System.Buffers.Binary;
using System.Security.Cryptography;
using TraceSeal.Sealing.Format;
using static TraceSeal.Sealing.Format.FormatConstants;

namespace TraceSeal.Sealing.Streaming;

/// <summary>
/// age STREAM over AES-256-GCM (docs/format.md §5). Chunk i (0-based) of at most 64 KiB plaintext:
/// <code>
///   nonce = i as 11-byte big-endian ‖ flag     flag = 0x01 on the final chunk, else 0x00
///   aad   = SHA-256(object context)            binds the chunk to version, kind, tenant, object id, created, salt
///   chunk = AES-256-GCM(payload_key, nonce, aad, plaintext) = ciphertext ‖ 16-byte tag
/// </code>
/// Every chunk but the last holds exactly 64 KiB; the last holds 1..64 KiB, or 0 bytes only when it is
/// the only chunk (empty payload). A reader decides "final or not" from the lengths alone, then tries
/// the other flag only to name the failure: final-looking chunk that is not final = truncated,
/// final chunk followed by more bytes = trailing_data.
/// </summary>
internal sealed class PayloadCipher : IDisposable
{
    private readonly AesGcm _gcm;
    private readonly byte[] _aad;
    private readonly byte[] _nonce = new byte[NonceLength];
    private ulong _counter;
    private bool _finished;

    public PayloadCipher(ReadOnlySpan<byte> fileKey, ReadOnlySpan<byte> payloadSalt, ReadOnlySpan<byte> objectContext)
    {
        Span<byte> payloadKey = stackalloc byte[PayloadKeyLength];
        try
        {
            KeySchedule.DerivePayloadKey(fileKey, payloadSalt, payloadKey);
            _gcm = new AesGcm(payloadKey, TagLength);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(payloadKey);
        }

        _aad = KeySchedule.ObjectContextHash(objectContext);
    }

    /// <summary>Encrypts the next chunk into <paramref name="destination"/> (plaintext length + 16 bytes).</summary>
    public void EncryptChunk(ReadOnlySpan<byte> plaintext, bool last, Span<byte> destination)
    {
        if (_finished)
        {
            throw new InvalidOperationException("the final chunk was already written");
        }

        if (plaintext.Length > ChunkSize || (!last && plaintext.Length != ChunkSize) || (last && plaintext.IsEmpty && _counter > 0))
        {
            throw new InvalidOperationException("chunk length violates docs/format.md §5");
        }

        SetNonce(last);
        _gcm.Encrypt(_nonce, plaintext, destination[..plaintext.Length], destination.Slice(plaintext.Length, TagLength), _aad);
        Advance(last);
    }

    /// <summary>
    /// Decrypts the next chunk. <paramref name="lastPosition"/> is what the lengths say: the chunk is
    /// shorter than a full chunk, or the input ends right after it. Returns the plaintext length.
    /// </summary>
    public int DecryptChunk(ReadOnlySpan<byte> chunk, bool lastPosition, Span<byte> plaintext)
    {
        if (_finished)
        {
            throw new SealedIntegrityException(SealedIntegrityException.TrailingData);
        }

        if (chunk.Length < TagLength)
        {
            throw new SealedIntegrityException(SealedIntegrityException.Truncated);
        }

        int length = chunk.Length - TagLength;
        if (TryDecrypt(chunk, lastPosition, plaintext[..length]))
        {
            if (lastPosition && length == 0 && _counter > 0)
            {
                // A conforming writer never ends a non-empty payload with an empty chunk (§5).
                throw new SealedIntegrityException(SealedIntegrityException.ChunkAuthFailed);
            }

            Advance(lastPosition);
            return length;
        }

        if (TryDecrypt(chunk, !lastPosition, plaintext[..length]))
        {
            CryptographicOperations.ZeroMemory(plaintext[..length]);
            throw new SealedIntegrityException(
                lastPosition ? SealedIntegrityException.Truncated : SealedIntegrityException.TrailingData);
        }

        throw new SealedIntegrityException(SealedIntegrityException.ChunkAuthFailed);
    }

    public bool Finished => _finished;

    public void Dispose() => _gcm.Dispose();

    private bool TryDecrypt(ReadOnlySpan<byte> chunk, bool last, Span<byte> plaintext)
    {
        SetNonce(last);
        int length = chunk.Length - TagLength;
        try
        {
            _gcm.Decrypt(_nonce, chunk[..length], chunk[length..], plaintext, _aad);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    private void SetNonce(bool last)
    {
        // 11-byte big-endian counter: 3 zero bytes ‖ u64; the counter can never reach 2^64 chunks.
        _nonce.AsSpan(0, NonceCounterLength - sizeof(ulong)).Clear();
        BinaryPrimitives.WriteUInt64BigEndian(_nonce.AsSpan(NonceCounterLength - sizeof(ulong)), _counter);
        _nonce[NonceCounterLength] = last ? LastChunkFlag : NotLastChunkFlag;
    }

    private void Advance(bool last)
    {
        if (last)
        {
            _finished = true;
        }
        else
        {
            _counter = checked(_counter + 1);
        }
    }
}
