using System.Buffers.Binary;
using System.Security.Cryptography;
using TraceSeal.Sealing.Format;
using static TraceSeal.Sealing.Format.FormatConstants;

namespace TraceSeal.Sealing.Streaming;

/// <summary>
/// The frames of a sealed log (docs/format.md §14.2). One key for the whole log, one chunk sequence per frame:
/// <code>
///   log_key = HKDF-SHA-256(file_key, payload_salt, "traceseal/v2/log", 32)
///   nonce   = frame_index (u32 BE) ‖ chunk_index (u56 BE) ‖ flag
///             flag 0x00 more chunks follow in this frame, 0x01 last chunk of a data frame,
///                  0x03 the end frame (one empty chunk: the log is complete)
///   aad     = SHA-256(object context)
///   frame   = length (u32 BE, bytes that follow) ‖ chunk × n; every chunk but the frame's last holds 64 KiB
/// </code>
/// The frame index in the nonce binds every frame to its position (reorder, drop or duplicate = chunk_auth_failed);
/// the key binds it to its log; the end frame makes truncation of a complete log detectable. The key schedule of
/// `AesGcm` lives until <see cref="Dispose"/>: a writer keeps it for the life of the segment, not per frame.
/// </summary>
internal sealed class LogCipher : IDisposable
{
    private readonly AesGcm _gcm;
    private readonly byte[] _aad;

    public LogCipher(ReadOnlySpan<byte> fileKey, ReadOnlySpan<byte> payloadSalt, ReadOnlySpan<byte> objectContext)
    {
        Span<byte> logKey = stackalloc byte[PayloadKeyLength];
        try
        {
            HKDF.DeriveKey(HashAlgorithmName.SHA256, fileKey, logKey, payloadSalt, LabelLog);
            _gcm = new AesGcm(logKey, TagLength);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(logKey);
        }

        _aad = KeySchedule.ObjectContextHash(objectContext);
    }

    /// <summary>Bytes a data frame of <paramref name="plaintextLength"/> (≥ 1) takes on disk, length prefix included.</summary>
    public static int SealedFrameLength(int plaintextLength) =>
        LogFrameLengthPrefix + plaintextLength + (ChunkCount(plaintextLength) * TagLength);

    /// <summary>Writes `length ‖ chunks` of data frame <paramref name="frameIndex"/>; returns the bytes written.</summary>
    public int SealFrame(uint frameIndex, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        if (plaintext.IsEmpty)
        {
            throw new ArgumentException("a data frame holds at least one byte (docs/format.md §14.2)", nameof(plaintext));
        }

        int total = SealedFrameLength(plaintext.Length);
        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)(total - LogFrameLengthPrefix));
        Span<byte> nonce = stackalloc byte[NonceLength];
        int chunks = ChunkCount(plaintext.Length);
        int outPos = LogFrameLengthPrefix;
        for (int i = 0; i < chunks; i++)
        {
            var chunk = plaintext.Slice(i * ChunkSize, Math.Min(ChunkSize, plaintext.Length - (i * ChunkSize)));
            SetNonce(nonce, frameIndex, (ulong)i, i == chunks - 1 ? LogFrameEndFlag : LogMoreChunksFlag);
            _gcm.Encrypt(nonce, chunk, destination.Slice(outPos, chunk.Length), destination.Slice(outPos + chunk.Length, TagLength), _aad);
            outPos += chunk.Length + TagLength;
        }

        return total;
    }

    /// <summary>Writes the end frame (<see cref="LogEndFrameLength"/> bytes) at position <paramref name="frameIndex"/>.</summary>
    public int SealEnd(uint frameIndex, Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, TagLength);
        Span<byte> nonce = stackalloc byte[NonceLength];
        SetNonce(nonce, frameIndex, 0, LogEndFlag);
        _gcm.Encrypt(nonce, [], [], destination.Slice(LogFrameLengthPrefix, TagLength), _aad);
        return LogEndFrameLength;
    }

    /// <summary>
    /// Opens frame <paramref name="frameIndex"/> (<paramref name="sealedFrame"/> without its length prefix) into
    /// <paramref name="plaintext"/> (at least <c>sealedFrame.Length</c> bytes). Returns the plaintext length;
    /// <paramref name="end"/> is true for the end frame (length 0). Nothing is released unless every chunk authenticates.
    /// </summary>
    public int OpenFrame(uint frameIndex, ReadOnlySpan<byte> sealedFrame, Span<byte> plaintext, out bool end)
    {
        end = false;
        if (sealedFrame.Length < TagLength)
        {
            throw new SealedIntegrityException(SealedIntegrityException.Truncated);
        }

        Span<byte> nonce = stackalloc byte[NonceLength];
        if (sealedFrame.Length == TagLength)
        {
            // Only the end frame is a bare tag (data frames hold at least one byte).
            SetNonce(nonce, frameIndex, 0, LogEndFlag);
            if (!TryDecrypt(nonce, sealedFrame, []))
            {
                throw new SealedIntegrityException(SealedIntegrityException.ChunkAuthFailed);
            }

            end = true;
            return 0;
        }

        int fullChunks = sealedFrame.Length / EncryptedChunkSize;
        int rest = sealedFrame.Length % EncryptedChunkSize;
        int chunks = rest == 0 ? fullChunks : fullChunks + 1;
        if (rest is > 0 and <= TagLength)
        {
            // A last chunk must carry at least one byte of plaintext.
            throw new SealedIntegrityException(SealedIntegrityException.Truncated);
        }

        int inPos = 0;
        int outPos = 0;
        try
        {
            for (int i = 0; i < chunks; i++)
            {
                bool last = i == chunks - 1;
                int length = last ? sealedFrame.Length - inPos : EncryptedChunkSize;
                var chunk = sealedFrame.Slice(inPos, length);
                SetNonce(nonce, frameIndex, (ulong)i, last ? LogFrameEndFlag : LogMoreChunksFlag);
                if (!TryDecrypt(nonce, chunk, plaintext.Slice(outPos, length - TagLength)))
                {
                    SetNonce(nonce, frameIndex, (ulong)i, last ? LogMoreChunksFlag : LogFrameEndFlag);
                    bool otherFlag = TryDecrypt(nonce, chunk, plaintext.Slice(outPos, length - TagLength));
                    throw new SealedIntegrityException(!otherFlag
                        ? SealedIntegrityException.ChunkAuthFailed
                        : last ? SealedIntegrityException.Truncated : SealedIntegrityException.TrailingData);
                }

                inPos += length;
                outPos += length - TagLength;
            }
        }
        catch
        {
            CryptographicOperations.ZeroMemory(plaintext[..Math.Min(plaintext.Length, sealedFrame.Length)]);
            throw;
        }

        return outPos;
    }

    public void Dispose() => _gcm.Dispose();

    private static int ChunkCount(int plaintextLength) => Math.Max(1, (plaintextLength + ChunkSize - 1) / ChunkSize);

    private bool TryDecrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> chunk, Span<byte> plaintext)
    {
        int length = chunk.Length - TagLength;
        try
        {
            _gcm.Decrypt(nonce, chunk[..length], chunk[length..], plaintext, _aad);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    private static void SetNonce(Span<byte> nonce, uint frameIndex, ulong chunkIndex, byte flag)
    {
        BinaryPrimitives.WriteUInt32BigEndian(nonce, frameIndex);
        // u56 chunk index: the top byte of a u64 is dropped (a frame is < 4 GiB, so < 2^16 chunks).
        Span<byte> counter = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64BigEndian(counter, chunkIndex);
        counter[1..].CopyTo(nonce[LogNonceFrameLength..]);
        nonce[LogNonceFrameLength + LogNonceChunkLength] = flag;
    }
}
