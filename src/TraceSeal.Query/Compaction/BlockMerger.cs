using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;

namespace TraceSeal.Query.Compaction;

/// <summary>
/// Writes one merged block (docs/format.md §15.4): a new sealed log — fresh file key, one stanza per recipient — whose
/// frames hold the inputs' records byte for byte in input order, with an index v2 and a summary built from the inputs'
/// indexes (trace ids, spans, times, services and names carried over, never parsed again). The summary names the inputs.
/// </summary>
internal sealed class BlockMerger(StoreReader reader, CompactionBucket bucket, IReadOnlyList<IRecipient> recipients, int frameBytes)
{
    private readonly List<IndexedRecord> _records = [];
    private readonly List<IndexedRecord> _pending = [];
    private readonly List<IndexedTrace> _traces = [];
    private readonly SortedSet<string> _services = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _names = new(StringComparer.Ordinal);
    private readonly MemoryStream _block = new();
    private byte[] _plain = new byte[frameBytes];
    private int _position;

    /// <summary>Merges <paramref name="inputs"/>; <paramref name="put"/> stores summary, index and block, in that order. Returns the output's summary.</summary>
    public BlockSummary Merge(IReadOnlyList<CompactionCandidate> inputs, Action<string, byte[]> put)
    {
        using var log = SealedLogWriter.Begin(ObjectKind.WalSegment, bucket.Tenant, recipients);
        _block.Write(log.Header);
        byte flags = 0;
        ulong minStart = ulong.MaxValue, maxEnd = 0, minDuration = ulong.MaxValue, maxDuration = 0;
        foreach (var input in inputs)
        {
            var (index, records) = reader.ReadIndexedBlock(input.BlockKey, bucket.Tenant);
            int first = _records.Count + _pending.Count;
            for (int i = 0; i < records.Count; i++)
            {
                Add(log, index.Records[i], records[i].Payload.Span);
            }

            foreach (var t in index.Traces)
            {
                _traces.Add(t with { Record = first + t.Record });
            }

            _services.UnionWith(index.Services);
            _names.UnionWith(index.Names);
            flags |= (byte)(index.Flags & (BlockIndex.ServicesOverflow | BlockIndex.NamesOverflow));
            if (input.Summary.SpanCount > 0)
            {
                minStart = Math.Min(minStart, index.MinStart);
                maxEnd = Math.Max(maxEnd, index.MaxEnd);
                minDuration = Math.Min(minDuration, index.MinDuration);
                maxDuration = Math.Max(maxDuration, index.MaxDuration);
            }
        }

        Flush(log);
        var end = new byte[SealedLogWriter.EndFrameLength];
        log.SealEnd(end);
        _block.Write(end);

        _traces.Sort(static (a, b) => a.TraceId != b.TraceId ? a.TraceId.CompareTo(b.TraceId) : a.Record.CompareTo(b.Record));
        bool anySpan = minStart != ulong.MaxValue;
        var merged = new BlockIndex
        {
            Version = StoreFormat.IndexVersion2,
            BlockObjectId = Convert.FromHexString(log.Info.ObjectId),
            BlockSealedLength = _block.Length,
            BlockPlainLength = log.FrameCount,
            MinStart = anySpan ? minStart : 0,
            MaxEnd = maxEnd,
            MinDuration = anySpan ? minDuration : 0,
            MaxDuration = maxDuration,
            Flags = (byte)(flags | (_services.Count > StoreFormat.MaxIndexedStrings ? BlockIndex.ServicesOverflow : 0)
                                 | (_names.Count > StoreFormat.MaxIndexedStrings ? BlockIndex.NamesOverflow : 0)),
            Segments = [],
            Records = _records,
            Services = [.. _services.Take(StoreFormat.MaxIndexedStrings)],
            Names = [.. _names.Take(StoreFormat.MaxIndexedStrings)],
            Traces = _traces,
        };
        var summary = BlockSummary.FromIndex(merged, [.. inputs.Select(i => i.Summary.BlockObjectId)]);
        var stem = $"{bucket.Dir}/{StoreFormat.BlockStemFromObjectId(log.Info.ObjectId)}";
        put(stem + StoreFormat.SummaryExtension, Sealer.Seal(summary.Encode(), ObjectKind.Index, bucket.Tenant, recipients));
        put(stem + StoreFormat.IndexExtension, Sealer.Seal(merged.Encode(), ObjectKind.Index, bucket.Tenant, recipients));
        put(stem + StoreFormat.BlockExtension, _block.ToArray());
        return summary;
    }

    private void Add(SealedLogWriter log, IndexedRecord indexed, ReadOnlySpan<byte> payload)
    {
        int need = StoreFormat.RecordHeaderSize + payload.Length;
        if (_position > 0 && _position + need > _plain.Length)
        {
            Flush(log);
        }

        if (need > _plain.Length)
        {
            _plain = new byte[need]; // one record larger than a frame: a frame of its own
        }

        StoreFormat.WriteRecordHeader(_plain.AsSpan(_position), indexed.Signal, payload.Length);
        payload.CopyTo(_plain.AsSpan(_position + StoreFormat.RecordHeaderSize));
        _pending.Add(new IndexedRecord(indexed.Signal, 0, payload.Length, indexed.SpanCount, indexed.MinStart, indexed.MaxEnd) { OffsetInFrame = _position });
        _position += need;
    }

    /// <summary>Seals the records gathered so far as the next frame; their index entries learn where it lies.</summary>
    private void Flush(SealedLogWriter log)
    {
        if (_position == 0)
        {
            return;
        }

        uint frameIndex = log.FrameCount;
        var sealedFrame = new byte[SealedLogWriter.SealedFrameLength(_position)];
        log.SealFrame(_plain.AsSpan(0, _position), sealedFrame);
        long offset = _block.Length;
        _block.Write(sealedFrame);
        foreach (var r in _pending)
        {
            _records.Add(r with { Offset = offset, FrameIndex = frameIndex, FrameLength = sealedFrame.Length - LogScan.PrefixLength });
        }

        _pending.Clear();
        _plain.AsSpan(0, _position).Clear();
        _position = 0;
    }
}
