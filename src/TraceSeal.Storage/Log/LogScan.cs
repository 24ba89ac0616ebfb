using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using TraceSeal.Sealing;

namespace TraceSeal.Storage.Log;

/// <summary>One frame of a sealed log as its bytes lie: position, length prefix, and whether it is the end frame.</summary>
/// <param name="Offset">File offset of the frame's 4-byte length prefix.</param>
/// <param name="SealedLength">Bytes after the prefix (chunks and tags).</param>
internal readonly record struct LogFrame(uint Index, long Offset, int SealedLength)
{
    /// <summary>Only the end frame is a bare tag (docs/format.md §14.2); data frames hold at least one byte.</summary>
    public bool IsEnd => SealedLength == SealedLogWriter.EndFrameLength - LogScan.PrefixLength;

    public long End => Offset + LogScan.PrefixLength + SealedLength;
}

/// <summary>How a sealed log ends, judged from lengths alone (no key).</summary>
internal enum LogTail
{
    /// <summary>The last frame is the end frame: the log is complete (a block).</summary>
    Complete,

    /// <summary>Ends on a frame boundary without an end frame: a live segment, or one recovered after a crash.</summary>
    Open,

    /// <summary>The last frame runs past end of file (or its prefix is cut or 0): a write that never finished.</summary>
    Torn,

    /// <summary>Bytes after the end frame.</summary>
    TrailingData,

    /// <summary>The file ends inside the header (a crash before the first frame was durable: nothing was acknowledged).</summary>
    NoHeader,
}

/// <summary>
/// The one keyless walk over a sealed log (docs/format.md §14.3): the header's length from its own bytes,
/// then `[u32 length][frame]` to the end. Writers (recovery: cut a torn tail), readers (which frames to open),
/// `verify data` and `keys rewrap` all use it; nothing else parses frame prefixes.
/// </summary>
internal sealed class LogScan
{
    public const int PrefixLength = 4;

    /// <summary>Accepted frame sizes: a frame is at most one group commit (a few MiB) plus tags.</summary>
    public const int MaxSealedFrameLength = 256 * 1024 * 1024;

    public required int HeaderLength { get; init; }
    public required IReadOnlyList<LogFrame> Frames { get; init; }
    public required LogTail Tail { get; init; }

    /// <summary>Bytes up to the end of the last whole frame (the header alone when there is none).</summary>
    public required long GoodLength { get; init; }

    /// <summary>Data frames (the end frame not counted).</summary>
    public int DataFrames => Frames.Count > 0 && Frames[^1].IsEnd ? Frames.Count - 1 : Frames.Count;

    /// <summary>Scans a whole log in memory.</summary>
    public static LogScan Scan(ReadOnlySpan<byte> log)
    {
        int headerLength = TryHeaderLength(log);
        if (headerLength < 0)
        {
            return new LogScan { HeaderLength = 0, Frames = [], Tail = LogTail.NoHeader, GoodLength = 0 };
        }

        var frames = new List<LogFrame>();
        long pos = headerLength;
        while (true)
        {
            if (pos == log.Length)
            {
                return Done(headerLength, frames, pos, frames.Count > 0 && frames[^1].IsEnd ? LogTail.Complete : LogTail.Open);
            }

            if (frames.Count > 0 && frames[^1].IsEnd)
            {
                return Done(headerLength, frames, pos, LogTail.TrailingData);
            }

            if (log.Length - pos < PrefixLength)
            {
                return Done(headerLength, frames, pos, LogTail.Torn);
            }

            uint length = BinaryPrimitives.ReadUInt32BigEndian(log[(int)pos..]);
            if (!Plausible(length) || length > (ulong)(log.Length - pos - PrefixLength))
            {
                return Done(headerLength, frames, pos, LogTail.Torn);
            }

            frames.Add(new LogFrame((uint)frames.Count, pos, (int)length));
            pos += PrefixLength + length;
        }
    }

    /// <summary>Scans a log file by its length prefixes only (positioned 4-byte reads; the frames are not read).</summary>
    public static LogScan Scan(SafeFileHandle file)
    {
        long fileLength = RandomAccess.GetLength(file);
        var head = new byte[(int)Math.Min(fileLength, 64 * 1024)];
        int read = RandomAccess.Read(file, head, 0);
        int headerLength = TryHeaderLength(head.AsSpan(0, read));
        if (headerLength < 0)
        {
            return new LogScan { HeaderLength = 0, Frames = [], Tail = LogTail.NoHeader, GoodLength = 0 };
        }

        var frames = new List<LogFrame>();
        Span<byte> prefix = stackalloc byte[PrefixLength];
        long pos = headerLength;
        while (true)
        {
            if (pos == fileLength)
            {
                return Done(headerLength, frames, pos, frames.Count > 0 && frames[^1].IsEnd ? LogTail.Complete : LogTail.Open);
            }

            if (frames.Count > 0 && frames[^1].IsEnd)
            {
                return Done(headerLength, frames, pos, LogTail.TrailingData);
            }

            if (fileLength - pos < PrefixLength || RandomAccess.Read(file, prefix, pos) < PrefixLength)
            {
                return Done(headerLength, frames, pos, LogTail.Torn);
            }

            uint length = BinaryPrimitives.ReadUInt32BigEndian(prefix);
            if (!Plausible(length) || length > (ulong)(fileLength - pos - PrefixLength))
            {
                return Done(headerLength, frames, pos, LogTail.Torn);
            }

            frames.Add(new LogFrame((uint)frames.Count, pos, (int)length));
            pos += PrefixLength + length;
        }
    }

    /// <summary>The header's length, or -1 when <paramref name="log"/> ends inside it; throws <see cref="SealedIntegrityException"/> when it is not a v2 header.</summary>
    public static int TryHeaderLength(ReadOnlySpan<byte> log)
    {
        SealedObjectInfo info;
        try
        {
            info = Sealer.ReadHeader(log);
        }
        catch (SealedIntegrityException e) when (e.Code == SealedIntegrityException.Truncated)
        {
            return -1;
        }

        if (info.Version != 2)
        {
            throw new SealedIntegrityException(SealedIntegrityException.UnsupportedVersion);
        }

        return info.HeaderLength;
    }

    private static bool Plausible(uint length) => length >= SealedLogWriter.EndFrameLength - PrefixLength && length <= MaxSealedFrameLength;

    private static LogScan Done(int headerLength, List<LogFrame> frames, long goodLength, LogTail tail) =>
        new() { HeaderLength = headerLength, Frames = frames, Tail = tail, GoodLength = goodLength };
}
