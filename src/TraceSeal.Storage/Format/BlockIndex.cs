// The index plaintext of StoreFormat.cs ("INDEX PLAINTEXT"), encoded by the writer and decoded by readers.
// Linked into TraceSeal.Query. Do not reorder or add fields; bump StoreFormat.IndexVersion instead.
using System.Buffers.Binary;
using System.Text;

namespace TraceSeal.Storage.Format;

internal readonly record struct IndexedSegment(ulong Seq, uint SegmentId);

/// <summary>
/// One record of a block. Index v1: <see cref="Offset"/> is the record's offset in the block plaintext. Index v2
/// (a block that is a sealed log, docs/format.md §14): <see cref="Offset"/> is the file offset of the record's
/// frame (its length prefix), and the frame's index, sealed length and the record's offset inside the frame's
/// plaintext follow, so a reader opens one frame, not the block.
/// </summary>
internal readonly record struct IndexedRecord(byte Signal, long Offset, int Length, int SpanCount, ulong MinStart, ulong MaxEnd)
{
    public uint FrameIndex { get; init; }
    public int FrameLength { get; init; }
    public int OffsetInFrame { get; init; }
}

internal readonly record struct IndexedTrace(UInt128 TraceId, int Record);

/// <summary>The decoded (or to-be-encoded) index of one block.</summary>
internal sealed class BlockIndex
{
    private const int RecordSizeV1 = 33;
    private const int RecordSizeV2 = 45;

    public const byte ServicesOverflow = 0x01;
    public const byte NamesOverflow = 0x02;

    /// <summary>1: the block is a sealed object of records; 2: the block is a closed sealed log (§14).</summary>
    public byte Version { get; init; } = StoreFormat.IndexVersion;

    public required byte[] BlockObjectId { get; init; }
    public required long BlockSealedLength { get; init; }
    /// <summary>v1: bytes of the block plaintext. v2: data frames in the log (the end frame not counted).</summary>
    public required long BlockPlainLength { get; init; }
    public ulong MinStart { get; init; }
    public ulong MaxEnd { get; init; }
    public ulong MinDuration { get; init; }
    public ulong MaxDuration { get; init; }
    public byte Flags { get; init; }
    public required IReadOnlyList<IndexedSegment> Segments { get; init; }
    public required IReadOnlyList<IndexedRecord> Records { get; init; }
    public required IReadOnlyList<string> Services { get; init; }
    public required IReadOnlyList<string> Names { get; init; }

    /// <summary>Sorted by trace id, then record.</summary>
    public required IReadOnlyList<IndexedTrace> Traces { get; init; }

    public byte[] Encode()
    {
        int recordSize = Version == StoreFormat.IndexVersion2 ? RecordSizeV2 : RecordSizeV1;
        int size = 70 + 4 + (Segments.Count * 12) + 4 + (Records.Count * recordSize) + LayoutWriter.StringsSize(Services)
                   + LayoutWriter.StringsSize(Names) + 4 + (Traces.Count * 20);

        var buffer = new byte[size];
        var w = new LayoutWriter(buffer);
        w.Bytes(StoreFormat.IndexMagic);
        w.U8(Version);
        w.Head(new BlockHead(BlockObjectId, BlockSealedLength, BlockPlainLength, MinStart, MaxEnd, MinDuration, MaxDuration, Flags));
        w.U32((uint)Segments.Count);
        foreach (var s in Segments)
        {
            w.U64(s.Seq);
            w.U32(s.SegmentId);
        }

        w.U32((uint)Records.Count);
        foreach (var r in Records)
        {
            w.U8(r.Signal);
            w.U64((ulong)r.Offset);
            w.U32((uint)r.Length);
            w.U32((uint)r.SpanCount);
            w.U64(r.MinStart);
            w.U64(r.MaxEnd);
            if (Version == StoreFormat.IndexVersion2)
            {
                w.U32(r.FrameIndex);
                w.U32((uint)r.FrameLength);
                w.U32((uint)r.OffsetInFrame);
            }
        }

        w.Strings(Services);
        w.Strings(Names);
        w.U32((uint)Traces.Count);
        var id = new byte[16];
        foreach (var t in Traces)
        {
            BinaryPrimitives.WriteUInt128BigEndian(id, t.TraceId);
            w.Bytes(id);
            w.U32((uint)t.Record);
        }

        return w.Position == buffer.Length ? buffer : throw new InvalidOperationException("index size miscalculated");
    }

    /// <summary>False when the plaintext does not follow the layout (index_malformed).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> data, out BlockIndex? index)
    {
        index = null;
        var r = new LayoutReader(data);
        if (!r.Bytes(4, out var magic) || !magic.SequenceEqual(StoreFormat.IndexMagic) || !r.U8(out var version)
            || version is not (StoreFormat.IndexVersion or StoreFormat.IndexVersion2)
            || !r.Head(out var head) || !r.Count(12, out var segmentCount))
        {
            return false;
        }

        ulong sealedLength = (ulong)head.SealedLength;
        ulong plainLength = (ulong)head.PlainLength;

        var segments = new IndexedSegment[segmentCount];
        for (int i = 0; i < segmentCount; i++)
        {
            r.U64(out var seq);
            r.U32(out var segmentId);
            segments[i] = new IndexedSegment(seq, segmentId);
        }

        bool v2 = version == StoreFormat.IndexVersion2;
        if (!r.Count(v2 ? RecordSizeV2 : RecordSizeV1, out var recordCount))
        {
            return false;
        }

        var records = new IndexedRecord[recordCount];
        for (int i = 0; i < recordCount; i++)
        {
            r.U8(out var signal);
            r.U64(out var offset);
            r.U32(out var length);
            r.U32(out var spans);
            r.U64(out var rMin);
            r.U64(out var rMax);
            uint frameIndex = 0;
            uint frameLength = 0;
            uint inFrame = 0;
            if (v2 && (!r.U32(out frameIndex) || !r.U32(out frameLength) || !r.U32(out inFrame)
                       || frameIndex >= plainLength || offset > sealedLength || frameLength > sealedLength - offset
                       || frameLength > int.MaxValue || inFrame > frameLength || length > frameLength))
            {
                return false;
            }

            if (signal > 2 || (!v2 && offset > plainLength) || length > int.MaxValue || spans > int.MaxValue)
            {
                return false;
            }

            records[i] = new IndexedRecord(signal, (long)offset, (int)length, (int)spans, rMin, rMax)
            {
                FrameIndex = frameIndex,
                FrameLength = (int)frameLength,
                OffsetInFrame = (int)inFrame,
            };
        }

        if (!r.Strings(out var services) || !r.Strings(out var names) || !r.Count(20, out var traceCount))
        {
            return false;
        }

        var traces = new IndexedTrace[traceCount];
        for (int i = 0; i < traceCount; i++)
        {
            r.Bytes(16, out var id);
            r.U32(out var record);
            if (record >= (uint)recordCount)
            {
                return false;
            }

            traces[i] = new IndexedTrace(BinaryPrimitives.ReadUInt128BigEndian(id), (int)record);
        }

        if (!r.AtEnd)
        {
            return false;
        }

        index = new BlockIndex
        {
            Version = version,
            BlockObjectId = head.ObjectId,
            BlockSealedLength = head.SealedLength,
            BlockPlainLength = head.PlainLength,
            MinStart = head.MinStart,
            MaxEnd = head.MaxEnd,
            MinDuration = head.MinDuration,
            MaxDuration = head.MaxDuration,
            Flags = head.Flags,
            Segments = segments,
            Records = records,
            Services = services!,
            Names = names!,
            Traces = traces,
        };
        return true;
    }
}
