using System.Buffers;
using Microsoft.Win32.SafeHandles;
using TraceSeal.Sealing;

namespace TraceSeal.Storage.Log;

/// <summary>
/// The writing end of one sealed log segment (docs/format.md §14): the one place that seals frames and makes
/// them durable. A single owner (a writer loop) calls it; it is not thread-safe.
/// <list type="bullet">
/// <item>One key agreement for the whole segment (<see cref="SealedLogWriter.Begin(ObjectKind, string, IReadOnlyList{IRecipient})"/>);
/// the header goes out with the first frame, in the same positioned write.</item>
/// <item><see cref="Append"/>: seal into a buffer sized once and reused, one positioned write, fsync (durability
/// fsync) — when it returns, the frame is durable and may be acknowledged.</item>
/// <item>A failed write leaves the file with a possibly torn tail. The segment is then <see cref="IsBroken"/>:
/// nothing more is appended, and <see cref="Close"/> (retried until it succeeds, e.g. once a full disk has
/// room again) writes the end frame over the torn bytes at the failed frame's position (the end frame's nonce
/// differs from every data chunk's, so no nonce is reused) and cuts the file there.</item>
/// <item><see cref="Close"/> on a healthy segment appends the end frame: the log is complete and can become a block.</item>
/// </list>
/// </summary>
internal sealed class LogSegmentWriter : IDisposable
{
    private readonly SealedLogWriter _log;
    private readonly bool _fsync;
    private SafeFileHandle? _file;
    private byte[] _buffer;
    private long _length;
    private bool _headerWritten;

    /// <summary>Creates `DIRECTORY/SEQ-ID.EXT` (0600) for a new log; ID comes from the log's object id (docs/format.md §14).</summary>
    /// <param name="keyRecipients">Non-null: also make the log's key header for them (<see cref="KeyHeader"/>, docs/format.md §14.11).</param>
    public LogSegmentWriter(string directory, ulong seq, string extension, ObjectKind kind, string label, IReadOnlyList<IRecipient> recipients, bool fsync, IReadOnlyList<IRecipient>? keyRecipients = null)
    {
        _fsync = fsync;
        _log = keyRecipients is null ? SealedLogWriter.Begin(kind, label, recipients) : SealedLogWriter.Begin(kind, label, recipients, keyRecipients);
        Path = System.IO.Path.Combine(directory, Format.StoreFormat.LogSegmentFileName(seq, _log.Info.ObjectId, extension));
        Seq = seq;
        try
        {
            using (AtomicFile.CreatePrivate(Path))
            {
            }

            _file = File.OpenHandle(Path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        }
        catch
        {
            _log.Dispose();
            throw;
        }

        _buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
    }

    public string Path { get; }

    public ulong Seq { get; }

    /// <summary>The header's object id (32 hex digits); its first 16 name the block this segment becomes.</summary>
    public string ObjectId => _log.Info.ObjectId;

    /// <summary>The key header (docs/format.md §14.11) when begun with key recipients: the caller stores it; it is not part of the file.</summary>
    public byte[]? KeyHeader => _log.KeyHeader;

    /// <summary>Durable bytes: header and every frame written so far.</summary>
    public long Length => _length;

    /// <summary>Data frames written.</summary>
    public uint Frames => _log.FrameCount;

    public bool IsBroken { get; private set; }

    public bool IsClosed { get; private set; }

    /// <summary>
    /// Seals <paramref name="plaintext"/> as the next frame, writes it and (with fsync) makes it durable.
    /// Returns the frame's index and file offset. Throws <see cref="IOException"/> (the segment is then broken).
    /// </summary>
    public (uint Index, long Offset, int SealedLength) Append(ReadOnlySpan<byte> plaintext)
    {
        if (IsBroken || IsClosed)
        {
            throw new InvalidOperationException("the segment no longer takes frames");
        }

        int headerLength = _headerWritten ? 0 : _log.Header.Length;
        int frameLength = SealedLogWriter.SealedFrameLength(plaintext.Length);
        EnsureBuffer(headerLength + frameLength);
        _log.Header[..headerLength].CopyTo(_buffer);
        uint index = _log.FrameCount;
        _log.SealFrame(plaintext, _buffer.AsSpan(headerLength, frameLength));
        long offset = _length + headerLength;
        try
        {
            RandomAccess.Write(_file!, _buffer.AsSpan(0, headerLength + frameLength), _length);
            if (_fsync)
            {
                RandomAccess.FlushToDisk(_file!);
            }
        }
        catch
        {
            IsBroken = true;
            throw;
        }
        finally
        {
            // The sealed bytes are ciphertext, but nothing of a frame should outlive its write.
            _buffer.AsSpan(0, headerLength + frameLength).Clear();
        }

        _headerWritten = true;
        _length = offset + frameLength;
        return (index, offset, frameLength - LogScan.PrefixLength);
    }

    /// <summary>
    /// Completes the segment (safe to call again after it threw): the end frame, fsync, handle closed. A broken segment's end frame takes the
    /// failed frame's place and the file is cut after it. Throws <see cref="IOException"/>; call again later.
    /// A segment without any durable frame is deleted instead (it holds nothing that was acknowledged).
    /// </summary>
    public void Close()
    {
        if (IsClosed)
        {
            return;
        }

        if (!_headerWritten)
        {
            Dispose();
            AtomicFile.TryDelete(Path);
            IsClosed = true;
            return;
        }

        if (_pendingEnd is null)
        {
            // Sealed once: a Close retried after a failed write writes the same end frame again.
            Span<byte> end = stackalloc byte[SealedLogWriter.EndFrameLength];
            if (IsBroken)
            {
                _log.SealEndInPlaceOfLastFrame(end);
            }
            else
            {
                _log.SealEnd(end);
            }

            _pendingEnd = end.ToArray();
        }

        WritePendingEnd();
    }

    private byte[]? _pendingEnd;

    private void WritePendingEnd()
    {
        RandomAccess.Write(_file!, _pendingEnd, _length);
        RandomAccess.SetLength(_file!, _length + _pendingEnd!.Length);
        RandomAccess.FlushToDisk(_file!);
        _length += _pendingEnd.Length;
        IsClosed = true;
        Dispose();
    }

    public void Dispose()
    {
        _file?.Dispose();
        _file = null;
        _log.Dispose();
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    private void EnsureBuffer(int needed)
    {
        if (_buffer.Length < needed)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(needed);
        }
    }
}
