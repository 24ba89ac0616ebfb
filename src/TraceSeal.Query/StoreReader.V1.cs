using TraceSeal.Otlp;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;

namespace TraceSeal.Query;

/// <summary>
/// The v1 layout (docs/format.md §12), read for as long as stores hold it: a WAL segment is frames that are each a
/// sealed object naming their segment and position; a block is one sealed object of records; its index v1 locates
/// records in the block plaintext and lists the segments folded into it.
/// </summary>
public sealed partial class StoreReader
{
    /// <summary>Payload bytes of a sealed object with this plaintext length: 64 KiB chunks, 16-byte tag each, at least one chunk (docs/format.md §5).</summary>
    private static long SealedPayloadLength(long plainLength)
    {
        const long chunk = 64 * 1024;
        const long tag = 16;
        return plainLength + (tag * Math.Max(1, (plainLength + chunk - 1) / chunk));
    }

    /// <summary>A v1 block: opened in full (one sealed object), its records checked against its index v1 when there is one.</summary>
    private Source ReadBlockV1(string key, string tenant, BlockIndex? index, TraceQuery? prune, byte[]? bytes)
    {
        var path = _store.Describe(key);
        var source = new Source
        {
            Order = index is { Segments.Count: > 0 } ? index.Segments.Min(s => s.Seq) : ulong.MaxValue,
            Path = path,
            Records = [],
        };
        HashSet<int>? onlyRecords = null;
        if (prune is not null && index is not null)
        {
            if (!MayMatch(index, prune, out onlyRecords))
            {
                return source;
            }
        }

        var sealedBytes = bytes ?? Get(key, StoreCodes.BlockMissing);
        var plain = Open(path, sealedBytes, ObjectKind.Block, tenant, where: null, out var info);
        if (!string.Equals(Path.GetFileNameWithoutExtension(path), StoreFormat.BlockStemFromObjectId(info.ObjectId), StringComparison.Ordinal))
        {
            throw new StoreIntegrityException(path, StoreCodes.NameMismatch);
        }

        if (index is not null && (plain.Length != index.BlockPlainLength
                                  || !string.Equals(info.ObjectId, Convert.ToHexStringLower(index.BlockObjectId), StringComparison.Ordinal)))
        {
            throw new StoreIntegrityException(path, StoreCodes.IndexMismatch);
        }

        if (plain.Length < 1 || plain[0] != StoreFormat.BlockVersion)
        {
            throw new StoreIntegrityException(path, StoreCodes.RecordMalformed);
        }

        var records = new List<StoredRecord>();
        ParseRecords(path, tenant, plain, 1, records, where: null);
        if (index is not null && index.Records.Count != records.Count)
        {
            throw new StoreIntegrityException(path, StoreCodes.IndexMismatch);
        }

        for (int i = 0; i < records.Count; i++)
        {
            if (onlyRecords is null || onlyRecords.Contains(i))
            {
                source.Records.Add(records[i]);
            }
        }

        return source;
    }

    /// <summary>Reads a v1 WAL segment (live or recovered; frames that are each a sealed object, §12.2).</summary>
    private Source ReadSegmentV1(string key, string tenant, byte[] bytes, bool live)
    {
        var path = _store.Describe(key);
        var stem = Path.GetFileNameWithoutExtension(key);
        if (!StoreFormat.TryParseSegmentStem(stem, out var seq, out var segmentId))
        {
            throw new StoreIntegrityException(path, StoreCodes.SegmentMismatch);
        }

        // The keyless walk (LogScan, v1 mode) finds the frames; each is then opened in full. A torn last frame of a
        // live segment is the writer still writing it (partial_write: never acknowledged); elsewhere it is an error.
        var scan = LogScan.ScanV1(bytes);
        if (scan.V1TornCode(live) is { } torn)
        {
            throw new StoreIntegrityException(path, torn, $"frame {scan.Frames.Count} at offset {scan.GoodLength}");
        }

        var output = new List<StoredRecord>();
        foreach (var frame in scan.Frames)
        {
            var where = $"frame {frame.Index} at offset {frame.Offset}";
            var plain = Open(path, bytes.AsSpan((int)frame.Offset + LogScan.PrefixLength, frame.SealedLength), ObjectKind.WalSegment, tenant, where);
            if (!StoreFormat.TryReadFrameHeader(plain, out var id, out var frameSeq, out var index))
            {
                throw new StoreIntegrityException(path, StoreCodes.FrameMalformed, where);
            }

            if (id != segmentId || frameSeq != seq)
            {
                throw new StoreIntegrityException(path, StoreCodes.SegmentMismatch, where);
            }

            if (index != frame.Index)
            {
                throw new StoreIntegrityException(path, StoreCodes.FrameOutOfOrder, where);
            }

            ParseRecords(path, tenant, plain, StoreFormat.FrameHeaderSize, output, where);
        }

        return new Source { Order = seq, Path = path, Records = output, Segment = new IndexedSegment(seq, segmentId) };
    }

    private static void ParseRecords(string path, string tenant, byte[] plain, int offset, List<StoredRecord> output, string? where)
    {
        var memory = plain.AsMemory();
        while (offset < plain.Length)
        {
            if (!StoreFormat.TryReadRecord(plain, offset, out var signal, out var payloadOffset, out var payloadLength))
            {
                throw new StoreIntegrityException(path, StoreCodes.RecordMalformed, where);
            }

            output.Add(new StoredRecord(tenant, (OtlpSignal)signal, memory.Slice(payloadOffset, payloadLength), path));
            offset = payloadOffset + payloadLength;
        }
    }
}
