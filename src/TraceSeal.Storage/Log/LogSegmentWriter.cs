using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using TraceSeal.Sealing;
using TraceSeal.Sealing.Files;

namespace TraceSeal.Storage.Log;

/// <summary>
/// The writing end of one sealed log segment (docs/format.md §14): the one place that seals frames and makes
/// them durable. A single owner (a writer loop) calls it; it is not thread-safe.
/// <list type="bullet">
/// <item>One key agreement for the whole segment (<see cref="SealedLogWriter.Begin(ObjectKind, string, IReadOnlyList{IRecipient})"/>);
/// the header goes out with the first frame, in the same positioned write.</item>
/// <item><see cref="Append"/>: seal into a buffer sized once and reused, one positioned write, fsync (durability
/// fsync) — when it returns, the frame is durable and may be acknowledged.</item>
/// <item>Direct I/O (with fsync, where the file system takes it): frames go from the buffer to the device with
/// O_DIRECT, not through the page cache. Each write covers whole 4 KiB blocks: the last partial block of the log is
/// kept at the buffer's start and written again (the same bytes) with the next frame, and the bytes after the
/// frame up to the block's end are zeros, so a live segment's file may be up to 4 KiB - 1 longer than
/// <see cref="Length"/>. Those zeros read as a torn tail (a length prefix of 0) and are cut by <see cref="Close"/>
/// and by recovery. Why: a sealed log is written once and read back rarely, so the page cache only costs here; on
/// this project's benchmark machine (a VM) copying the WAL into freshly allocated page-cache pages was 21 % of the
/// server's CPU under load, and `dd` with 20 KiB writes + O_DSYNC used 75 µs of system time per write with O_DIRECT
/// against 109 µs buffered (docs/benchmarks.md).</item>
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
    private byte[] _buffer = [];
    private GCHandle _pin;
    // Start of the 4 KiB-aligned region of _buffer (direct I/O needs an aligned source); every write starts there.
    private int _base;
    // Direct I/O: bytes of the log's last partial block, kept at _buffer[_base..] (always _length % DirectAlign).
    private int _tail;
    private bool _direct;
    private long _length;
    private bool _headerWritten;

    /// <summary>Alignment of direct I/O: offsets, lengths and the buffer (a multiple of every logical block size in use).</summary>
    public const int DirectAlign = 4096;

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

        // Without fsync a buffered write is the cheap one; with it, direct I/O saves the page-cache copy (above).
        _direct = fsync && DirectIo.TryEnable(_file);
        EnsureBuffer(64 * 1024);
    }

    /// <summary>Whether frames are written with direct I/O (O_DIRECT); false where the file system refuses it.</summary>
    public bool IsDirect => _direct;

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
        int end = _tail + headerLength + frameLength;
        int ioLength = _direct ? AlignUp(end) : end;
        EnsureBuffer(ioLength);
        var region = _buffer.AsSpan(_base, ioLength);
        _log.Header[..headerLength].CopyTo(region[_tail..]);
        uint index = _log.FrameCount;
        _log.SealFrame(plaintext, region.Slice(_tail + headerLength, frameLength));
        region[end..].Clear();
        long offset = _length + headerLength;
        try
        {
            WriteRegion(region, end, _length - _tail);
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

        // The sealed bytes are ciphertext, the same as in the file: nothing to wipe. Keep the last partial block.
        _headerWritten = true;
        _length = offset + frameLength;
        _tail = _direct ? (int)(_length % DirectAlign) : 0;
        region.Slice(end - _tail, _tail).CopyTo(region);

        return (index, offset, frameLength - LogScan.PrefixLength);
    }

    /// <summary>
    /// One positioned write at <paramref name="fileOffset"/>: the whole aligned region with direct I/O, else its first
    /// <paramref name="end"/> bytes. A direct write the file system refuses (EINVAL: an alignment it does not take)
    /// turns direct I/O off for this segment and is written buffered.
    /// </summary>
    private void WriteRegion(ReadOnlySpan<byte> region, int end, long fileOffset)
    {
        if (_direct)
        {
            try
            {
                RandomAccess.Write(_file!, region, fileOffset);
                return;
            }
            catch (IOException e) when (DirectIo.IsInvalidArgument(e) && DirectIo.TryDisable(_file!))
            {
                _direct = false;
            }
        }

        RandomAccess.Write(_file!, region[..end], fileOffset);
    }

    private static int AlignUp(int n) => (n + DirectAlign - 1) & ~(DirectAlign - 1);

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
        // The end frame is small and written once: buffered, at the exact end.
        if (_direct && DirectIo.TryDisable(_file!))
        {
            _direct = false;
        }

        // First cut, durably, what follows the last durable frame (direct I/O's zero fill, or a failed frame's torn
        // bytes): a crash before the end frame is durable then leaves an open log, never bytes after an end frame.
        if (RandomAccess.GetLength(_file!) != _length)
        {
            RandomAccess.SetLength(_file!, _length);
            RandomAccess.FlushToDisk(_file!);
        }

        RandomAccess.Write(_file!, _pendingEnd, _length);
        RandomAccess.FlushToDisk(_file!);
        _length += _pendingEnd!.Length;
        IsClosed = true;
        Dispose();
    }

    public void Dispose()
    {
        _file?.Dispose();
        _file = null;
        _log.Dispose();
        ReleaseBuffer();
    }

    /// <summary>Sizes the buffer for <paramref name="needed"/> bytes from the aligned start (kept across frames), keeping the partial block at its start.</summary>
    private void EnsureBuffer(int needed)
    {
        if (_buffer.Length - _base >= needed)
        {
            return;
        }

        // Pooled, from the large-object heap (never moved), pinned for the writer's life: direct I/O reads it by address.
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(needed + DirectAlign, 128 * 1024));
        var pin = GCHandle.Alloc(buffer, GCHandleType.Pinned);
        long address = pin.AddrOfPinnedObject();
        int start = (int)((DirectAlign - (address & (DirectAlign - 1))) & (DirectAlign - 1));
        _buffer.AsSpan(_base, _tail).CopyTo(buffer.AsSpan(start));
        ReleaseBuffer();
        (_buffer, _pin, _base) = (buffer, pin, start);
    }

    private void ReleaseBuffer()
    {
        if (_pin.IsAllocated)
        {
            _pin.Free();
        }

        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}
