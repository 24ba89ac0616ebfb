using TraceSeal.Sealing.Format;
using TraceSeal.Sealing.Randomness;
using TraceSeal.Sealing.Streaming;
using static TraceSeal.Sealing.Format.FormatConstants;

namespace TraceSeal.Sealing;

/// <summary>
/// Writes a sealed log (format version 2, docs/format.md §14): one header, made once (one ECDH per recipient
/// for the whole log), then frames appended one at a time, each sealed under the log key and bound to its
/// position, and finally an end frame that makes the log complete. The caller owns the bytes: it writes
/// <see cref="Header"/> first, then what <see cref="SealFrame"/> and <see cref="SealEnd"/> produce, in order.
/// The log key lives (inside <c>AesGcm</c>) until <see cref="Dispose"/>; the file key is zeroed at once.
/// </summary>
public sealed class SealedLogWriter : IDisposable
{
    private readonly LogCipher _cipher;
    private readonly byte[] _header;
    private uint _frames;
    private bool _ended;

    private SealedLogWriter(byte[] header, LogCipher cipher, byte[]? keyHeader = null)
    {
        _header = header;
        _cipher = cipher;
        KeyHeader = keyHeader;
        Info = HeaderCodec.Decode(header).ToInfo();
    }

    /// <summary>
    /// Begins a log as <see cref="Begin(ObjectKind, string, IReadOnlyList{IRecipient})"/> and also makes its key header
    /// (docs/format.md §14.11): the same object context and file key wrapped to <paramref name="keyRecipients"/> only,
    /// so that they can open this log's frames while the log itself names <paramref name="recipients"/> only.
    /// </summary>
    public static SealedLogWriter Begin(ObjectKind kind, string tenant, IReadOnlyList<IRecipient> recipients, IReadOnlyList<IRecipient> keyRecipients)
    {
        var (header, keyHeader, cipher) = Envelope.BeginLogWithKeyHeader(kind, tenant, recipients, keyRecipients, SystemRandomSource.Instance, DateTimeOffset.UtcNow);
        return new SealedLogWriter(header, cipher, keyHeader);
    }

    /// <summary>The key header (§14.11) when the log was begun with key recipients, else null. Not part of the log's bytes.</summary>
    public byte[]? KeyHeader { get; }

    /// <summary>Begins a log of <paramref name="kind"/> (wal-segment or queue) for <paramref name="tenant"/>, sealed to <paramref name="recipients"/>.</summary>
    public static SealedLogWriter Begin(ObjectKind kind, string tenant, IReadOnlyList<IRecipient> recipients) =>
        Begin(kind, tenant, recipients, SystemRandomSource.Instance, DateTimeOffset.UtcNow);

    internal static SealedLogWriter Begin(ObjectKind kind, string tenant, IReadOnlyList<IRecipient> recipients, IRandomSource random, DateTimeOffset now)
    {
        var (header, cipher) = Envelope.BeginLog(kind, tenant, recipients, random, now);
        return new SealedLogWriter(header, cipher);
    }

    /// <summary>The header bytes (they start the log).</summary>
    public ReadOnlySpan<byte> Header => _header;

    /// <summary>The header's fields (object id, kind, tenant, recipients).</summary>
    public SealedObjectInfo Info { get; }

    /// <summary>Data frames sealed so far: the index of the next one.</summary>
    public uint FrameCount => _frames;

    public bool Ended => _ended;

    /// <summary>Bytes a data frame of <paramref name="plaintextLength"/> bytes (≥ 1) takes, its length prefix included.</summary>
    public static int SealedFrameLength(int plaintextLength) => LogCipher.SealedFrameLength(plaintextLength);

    /// <summary>Bytes of the end frame.</summary>
    public static int EndFrameLength => LogEndFrameLength;

    /// <summary>Seals the next data frame into <paramref name="destination"/>; returns the bytes written (<see cref="SealedFrameLength"/>).</summary>
    public int SealFrame(ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_ended, this);
        if (_frames == uint.MaxValue - 1)
        {
            // §14.2: the frame index is a u32 in the nonce; a log is closed before it could wrap (never near in practice).
            throw new InvalidOperationException("a sealed log holds at most 2^32 - 2 data frames; close it and begin another");
        }

        int written = _cipher.SealFrame(_frames, plaintext, destination);
        _frames++;
        return written;
    }

    /// <summary>
    /// Seals the end frame at the next position. Also the way to abandon a frame whose write failed: its
    /// position gets the end frame (another nonce flag), so no nonce is ever used for two plaintexts.
    /// </summary>
    public int SealEnd(Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_ended, this);
        int written = _cipher.SealEnd(_frames, destination);
        _ended = true;
        return written;
    }

    /// <summary>
    /// After a failed write of frame <c>FrameCount - 1</c> (the caller cut the file back to before it): the
    /// end frame must take that position, since its ciphertext may have reached the disk. Returns the end frame.
    /// </summary>
    public int SealEndInPlaceOfLastFrame(Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_ended, this);
        if (_frames == 0)
        {
            throw new InvalidOperationException("no frame was sealed");
        }

        _frames--;
        return SealEnd(destination);
    }

    public void Dispose() => _cipher.Dispose();
}

/// <summary>
/// Opens the frames of a sealed log (docs/format.md §14) with an identity: the header is verified once,
/// then each frame is opened by its index. <see cref="OpenFrame"/> authenticates the whole frame before
/// it returns any of it.
/// </summary>
public sealed class SealedLogReader : IDisposable
{
    private readonly LogCipher _cipher;

    private SealedLogReader(LogCipher cipher, SealedObjectInfo info)
    {
        _cipher = cipher;
        Info = info;
    }

    /// <summary>Authenticated header fields; <c>Info.HeaderLength</c> is where frame 0 starts.</summary>
    public SealedObjectInfo Info { get; }

    /// <summary>
    /// Verifies the header at the start of <paramref name="log"/> (frames may follow). Throws
    /// <see cref="NoIdentityMatchException"/> or <see cref="SealedIntegrityException"/> as <see cref="Sealer.Open(ReadOnlySpan{byte}, IReadOnlyList{IIdentity}, out SealedObjectInfo)"/>.
    /// </summary>
    public static SealedLogReader Open(ReadOnlySpan<byte> log, IReadOnlyList<IIdentity> identities)
    {
        var header = HeaderCodec.Decode(log);
        if (header.Version != Version2)
        {
            throw new SealedIntegrityException(SealedIntegrityException.UnsupportedVersion);
        }

        var cipher = Envelope.OpenLog(header, identities);
        return new SealedLogReader(cipher, header.ToInfo());
    }

    /// <summary>
    /// Opens frame <paramref name="frameIndex"/>: <paramref name="sealedFrame"/> is the bytes after its length
    /// prefix, <paramref name="plaintext"/> at least as long. Returns the plaintext length; <paramref name="end"/>
    /// is true for the end frame.
    /// </summary>
    public int OpenFrame(uint frameIndex, ReadOnlySpan<byte> sealedFrame, Span<byte> plaintext, out bool end) =>
        _cipher.OpenFrame(frameIndex, sealedFrame, plaintext, out end);

    public void Dispose() => _cipher.Dispose();
}
