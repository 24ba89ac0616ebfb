using System.Buffers.Binary;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;

namespace TraceSeal.Storage.Log;

/// <summary>What a reader knows about where a log lies, which decides how its end is judged (docs/format.md §14.4).</summary>
internal enum LogPlace
{
    /// <summary>A live `.wal` segment: the writer may still be writing; a torn last frame is not an error (partial_write).</summary>
    Live,

    /// <summary>A segment recovered after a crash (`.walseg`): ends on a frame boundary; the end frame may be missing.</summary>
    Recovered,

    /// <summary>A block: a complete log; it must end with the end frame.</summary>
    Block,
}

/// <summary>One record of an opened frame: <paramref name="Payload"/> is a slice of that frame's plaintext.</summary>
internal readonly record struct LogRecord(byte Signal, ReadOnlyMemory<byte> Payload, uint FrameIndex, int OffsetInFrame)
{
    /// <summary>
    /// A version 2 record's consumer ids (8 bytes each, docs/format.md §14.12), a slice of the same plaintext; null for a
    /// version 1 record, which names none: it is for every consumer.
    /// </summary>
    public ReadOnlyMemory<byte>? Consumers { get; init; }
}

/// <summary>
/// The reading end of a sealed log with identity keys: the keyless <see cref="LogScan"/> says where the frames
/// lie, <see cref="SealedLogReader"/> opens each one (authenticated as a whole before any byte is used), and the
/// records of each frame are parsed (§12.2 record layout). Every failure is a <see cref="SealedIntegrityException"/>
/// with a stable code; <see cref="NoIdentityMatchException"/> when the log is not for these identities.
/// </summary>
internal static class LogReader
{
    /// <summary>Opens every data frame of <paramref name="log"/> and returns its records in log order.</summary>
    /// <remarks><paramref name="info"/> is null only for a live segment whose header is not yet written (no records).</remarks>
    public static List<LogRecord> ReadAll(ReadOnlySpan<byte> log, IReadOnlyList<IIdentity> identities, LogPlace place, out SealedObjectInfo? info)
    {
        var scan = LogScan.Scan(log);
        CheckTail(scan, place);
        info = null;
        if (scan.Tail == LogTail.NoHeader)
        {
            return [];
        }

        using var reader = SealedLogReader.Open(log, identities);
        info = reader.Info;
        var records = new List<LogRecord>();
        foreach (var frame in scan.Frames)
        {
            var plain = OpenFrame(reader, frame, log.Slice((int)frame.Offset + LogScan.PrefixLength, frame.SealedLength));
            if (plain is null)
            {
                break;
            }

            ParseRecords(plain, frame.Index, records);
        }

        return records;
    }

    /// <summary>
    /// Opens one data frame (<paramref name="sealedFrame"/>: the bytes after its length prefix). Returns null for
    /// the end frame. Used directly by readers that locate a frame through an index.
    /// </summary>
    public static byte[]? OpenFrame(SealedLogReader reader, LogFrame frame, ReadOnlySpan<byte> sealedFrame)
    {
        var plain = new byte[sealedFrame.Length];
        int length = reader.OpenFrame(frame.Index, sealedFrame, plain, out bool end);
        if (end)
        {
            return null;
        }

        return length == plain.Length ? plain : plain.AsSpan(0, length).ToArray();
    }

    /// <summary>Splits a frame's plaintext into records; <c>record_malformed</c> when the lengths do not fit.</summary>
    public static void ParseRecords(byte[] plain, uint frameIndex, List<LogRecord> output)
    {
        int pos = 0;
        while (pos < plain.Length)
        {
            if (!StoreFormat.TryReadRecord(plain, pos, out byte signal, out int consumersOffset, out int consumerCount, out int payloadOffset, out int payloadLength))
            {
                throw new SealedIntegrityException(StoreCodes.RecordMalformed);
            }

            output.Add(new LogRecord(signal, plain.AsMemory(payloadOffset, payloadLength), frameIndex, pos)
            {
                Consumers = consumerCount < 0 ? (ReadOnlyMemory<byte>?)null : plain.AsMemory(consumersOffset, consumerCount * StoreFormat.ConsumerIdSize),
            });
            pos = payloadOffset + payloadLength;
        }
    }

    /// <summary>One record at a known place in a frame's plaintext (from an index v2 entry).</summary>
    public static LogRecord RecordAt(byte[] plain, uint frameIndex, int offsetInFrame)
    {
        if (!StoreFormat.TryReadRecord(plain, offsetInFrame, out byte signal, out int payloadOffset, out int payloadLength))
        {
            throw new SealedIntegrityException(StoreCodes.IndexMismatch);
        }

        return new LogRecord(signal, plain.AsMemory(payloadOffset, payloadLength), frameIndex, offsetInFrame);
    }

    /// <summary>The length prefix at the start of <paramref name="frameWithPrefix"/> must match what an index said.</summary>
    public static bool PrefixMatches(ReadOnlySpan<byte> frameWithPrefix, int sealedLength) =>
        frameWithPrefix.Length >= LogScan.PrefixLength && BinaryPrimitives.ReadUInt32BigEndian(frameWithPrefix) == (uint)sealedLength;

    private static void CheckTail(LogScan scan, LogPlace place)
    {
        switch (scan.Tail)
        {
            case LogTail.NoHeader:
                // A live segment whose first write is under way holds nothing acknowledged yet.
                if (place != LogPlace.Live)
                {
                    throw new SealedIntegrityException(SealedIntegrityException.Truncated);
                }

                break;
            case LogTail.TrailingData:
                throw new SealedIntegrityException(SealedIntegrityException.TrailingData);
            case LogTail.Torn when place == LogPlace.Recovered:
                throw new SealedIntegrityException(StoreCodes.TruncatedSegment);
            case LogTail.Torn or LogTail.Open when place == LogPlace.Block:
                // A block is a complete log: frames cut off its end (or its end frame) are detected here.
                throw new SealedIntegrityException(SealedIntegrityException.Truncated);
        }
    }
}
