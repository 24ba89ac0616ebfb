using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;

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

/// <summary>How a sealed log (or a v1 segment) ends, judged from lengths alone (no key).</summary>
internal enum LogTail
{
    /// <summary>The last frame is the end frame: the log is complete (a block).</summary>
    Complete,

    /// <summary>
    /// Ends on a frame boundary without an end frame: a live segment, or one recovered after a crash (v1: every segment).
    /// A v2 log may be followed by zero fill (fewer than <see cref="LogSegmentWriter.DirectAlign"/> zero bytes, the rest
    /// of a block written with direct I/O): then <see cref="LogScan.GoodLength"/> is less than the file's length.
    /// </summary>
    Open,

    /// <summary>The last frame runs past end of file (or its prefix is cut or 0; v1: or its sealed header does not parse): a write that never finished.</summary>
    Torn,

    /// <summary>Bytes after the end frame.</summary>
    TrailingData,

    /// <summary>The file ends inside the header (a crash before the first frame was durable: nothing was acknowledged).</summary>
    NoHeader,

    /// <summary>v1 only: a frame whose sealed header does not parse, with more frames after it (a torn write is only ever the last).</summary>
    Corrupt,
}

/// <summary>
/// The one keyless walk over `[u32 length][frame]` runs (docs/format.md §14.3): a sealed log (v2; the header's length
/// from its own bytes, then frames to the end) and, with <see cref="ScanV1(ReadOnlySpan{byte}, ObjectKind?, string?)"/>,
/// a v1 segment (§12.2-§12.3: frames that are each a sealed object, no header, no end frame). Writers (recovery: cut a
/// torn tail), readers (which frames to open), the forwarding queue, `verify data` and `keys rewrap` all use it;
/// nothing else parses frame prefixes.
/// </summary>
internal sealed class LogScan
{
    public const int PrefixLength = 4;

    /// <summary>Accepted frame sizes: a frame is at most one group commit (a few MiB) plus tags.</summary>
    public const int MaxSealedFrameLength = 256 * 1024 * 1024;

    /// <summary>Bytes read to parse a sealed header (§2: a header is far shorter).</summary>
    private const int HeadBytes = 64 * 1024;

    public required int HeaderLength { get; init; }
    public required IReadOnlyList<LogFrame> Frames { get; init; }
    public required LogTail Tail { get; init; }

    /// <summary>Bytes up to the end of the last whole frame (the header alone when there is none): where a torn tail is cut.</summary>
    public required long GoodLength { get; init; }

    /// <summary>
    /// Stable snake_case code of a tail that is not whole: `partial_write` (torn by its lengths), `trailing_data`, or
    /// for v1 the code of the frame header that failed (§7 `bad_magic`, `truncated`, ...; §12.6 `kind_mismatch`,
    /// `tenant_mismatch`). Null for a complete or open log.
    /// </summary>
    public string? Code { get; init; }

    /// <summary>v1 <see cref="LogTail.Corrupt"/>: offset of the first frame whose header failed (it stays in <see cref="Frames"/>); else -1.</summary>
    public long CorruptAt { get; init; } = -1;

    /// <summary>
    /// A v1 reader's judgement of a torn tail (§12.3, §12.6): none in a live segment (its writer may be writing that
    /// frame; it was never acknowledged), else `truncated_segment`, or the code of the last frame's header that failed.
    /// </summary>
    public string? V1TornCode(bool live) => Tail != LogTail.Torn || live ? null : Code == StoreCodes.PartialWrite ? StoreCodes.TruncatedSegment : Code;

    /// <summary>Data frames (the end frame not counted).</summary>
    public int DataFrames => Frames.Count > 0 && Frames[^1].IsEnd ? Frames.Count - 1 : Frames.Count;

    /// <summary>Scans a whole log in memory.</summary>
    public static LogScan Scan(ReadOnlySpan<byte> log) => Walk(new Source(log));

    /// <summary>Scans a log file by its length prefixes only (positioned 4-byte reads; the frames are not read).</summary>
    public static LogScan Scan(SafeFileHandle file) => Walk(new Source(file));

    /// <summary>
    /// Walks a v1 segment (§12.3): by lengths, and each frame's sealed header parsed without a key (with its kind
    /// and tenant when given). Fewer than 4 bytes left, a length of 0, over 256 MiB or past end of file, or a last
    /// frame whose header fails: <see cref="LogTail.Torn"/> at the frame's offset. A header that fails with more
    /// frames after it: <see cref="LogTail.Corrupt"/>; the walk goes on, so every whole frame is listed.
    /// </summary>
    public static LogScan ScanV1(ReadOnlySpan<byte> segment, ObjectKind? kind = null, string? tenant = null) => WalkV1(new Source(segment), kind, tenant);

    /// <summary>As <see cref="ScanV1(ReadOnlySpan{byte}, ObjectKind?, string?)"/>, with positioned reads of each prefix and header.</summary>
    public static LogScan ScanV1(SafeFileHandle file, ObjectKind? kind = null, string? tenant = null) => WalkV1(new Source(file), kind, tenant);

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

    private static LogScan Walk(Source source)
    {
        var head = source.Read(0, HeadBytes);
        // A file of zeros only: a first direct write (header and frame) whose blocks were allocated but never written.
        int headerLength = head.IndexOfAnyExcept((byte)0) < 0 && source.Length <= HeadBytes ? -1 : TryHeaderLength(head);
        if (headerLength < 0)
        {
            return new LogScan { HeaderLength = 0, Frames = [], Tail = LogTail.NoHeader, GoodLength = 0 };
        }

        var frames = new List<LogFrame>();
        long pos = headerLength;
        while (pos != source.Length)
        {
            if (frames.Count > 0 && frames[^1].IsEnd)
            {
                return Done(headerLength, frames, pos, LogTail.TrailingData, SealedIntegrityException.TrailingData);
            }

            uint length = source.LengthAt(pos);
            if (length < SealedLogWriter.EndFrameLength - PrefixLength)
            {
                // Zero fill after the last frame (direct I/O writes whole blocks) is not a torn frame: nothing was written there.
                return source.Length - pos < LogSegmentWriter.DirectAlign && source.Read(pos, HeadBytes).IndexOfAnyExcept((byte)0) < 0
                    ? Done(headerLength, frames, pos, LogTail.Open, null)
                    : Done(headerLength, frames, pos, LogTail.Torn, StoreCodes.PartialWrite);
            }

            frames.Add(new LogFrame((uint)frames.Count, pos, (int)length));
            pos += PrefixLength + length;
        }

        return Done(headerLength, frames, pos, frames.Count > 0 && frames[^1].IsEnd ? LogTail.Complete : LogTail.Open, null);
    }

    private static LogScan WalkV1(Source source, ObjectKind? kind, string? tenant)
    {
        var frames = new List<LogFrame>();
        string? corrupt = null;
        long corruptAt = -1;
        long pos = 0;
        while (pos != source.Length)
        {
            uint length = source.LengthAt(pos);
            string? problem = length == 0 ? StoreCodes.PartialWrite
                : V1HeaderProblem(source.Read(pos + PrefixLength, (int)Math.Min(length, HeadBytes)), kind, tenant);
            if (problem is not null && (length == 0 || pos + PrefixLength + length == source.Length))
            {
                // Only the last frame can be torn: one positioned write per frame, fsync before any acknowledgement.
                return Done(0, frames, pos, corrupt is null ? LogTail.Torn : LogTail.Corrupt, corrupt ?? problem, corruptAt);
            }

            if (problem is not null && corrupt is null)
            {
                (corrupt, corruptAt) = (problem, pos);
            }

            frames.Add(new LogFrame((uint)frames.Count, pos, (int)length));
            pos += PrefixLength + length;
        }

        return Done(0, frames, pos, corrupt is null ? LogTail.Open : LogTail.Corrupt, corrupt, corruptAt);
    }

    /// <summary>The keyless check of a v1 frame (the §12.3 recovery check): its header parses, with this kind and tenant.</summary>
    private static string? V1HeaderProblem(ReadOnlySpan<byte> frameHead, ObjectKind? kind, string? tenant)
    {
        try
        {
            var info = Sealer.ReadHeader(frameHead);
            return kind is { } k && info.ObjectKind != k ? StoreCodes.KindMismatch
                : tenant is not null && !string.Equals(info.Tenant, tenant, StringComparison.Ordinal) ? StoreCodes.TenantMismatch
                : null;
        }
        catch (SealedIntegrityException e)
        {
            return e.Code;
        }
    }

    private static LogScan Done(int headerLength, List<LogFrame> frames, long goodLength, LogTail tail, string? code, long corruptAt = -1) =>
        new() { HeaderLength = headerLength, Frames = frames, Tail = tail, GoodLength = goodLength, Code = code, CorruptAt = corruptAt };

    /// <summary>The bytes walked: a span in memory, or a file read at positions (prefixes and frame heads only).</summary>
    private readonly ref struct Source
    {
        private readonly ReadOnlySpan<byte> _bytes;
        private readonly SafeFileHandle? _file;
        private readonly byte[]? _scratch;

        public Source(ReadOnlySpan<byte> bytes)
        {
            _bytes = bytes;
            Length = bytes.Length;
        }

        public Source(SafeFileHandle file)
        {
            _file = file;
            Length = RandomAccess.GetLength(file);
            _scratch = new byte[(int)Math.Min(Length, HeadBytes)];
        }

        public long Length { get; }

        /// <summary>Up to <paramref name="count"/> (at most 64 KiB) bytes at <paramref name="offset"/>, fewer at end of input; valid until the next read.</summary>
        public ReadOnlySpan<byte> Read(long offset, int count)
        {
            count = (int)Math.Min(count, Length - offset);
            if (_file is null)
            {
                return _bytes.Slice((int)offset, count);
            }

            int total = 0;
            for (int n; total < count && (n = RandomAccess.Read(_file, _scratch.AsSpan(total, count - total), offset + total)) > 0;)
            {
                total += n;
            }

            return _scratch.AsSpan(0, total);
        }

        /// <summary>
        /// The length prefix at <paramref name="pos"/> when the frame it announces fits in the input; 0 when fewer than
        /// 4 bytes are left, or the length is over <see cref="MaxSealedFrameLength"/> or runs past end of input.
        /// </summary>
        public uint LengthAt(long pos)
        {
            var prefix = Read(pos, PrefixLength);
            uint length = prefix.Length == PrefixLength ? BinaryPrimitives.ReadUInt32BigEndian(prefix) : 0;
            return length <= MaxSealedFrameLength && length <= Length - pos - PrefixLength ? length : 0;
        }
    }
}
