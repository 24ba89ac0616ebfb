using System.Buffers;
using System.Buffers.Binary;
using TraceSeal.Otlp;
using TraceSeal.Storage.Format;

namespace TraceSeal.Collector.Storage.Blocks;

/// <summary>
/// The plaintext of the next block of one tenant, kept in memory while the same records go to the sealed
/// WAL, plus its index gathered by the validator's span visitor. Bounded by `block::max_bytes` (the owner
/// cuts when <see cref="Length"/> reaches it). The memory comes from the array pool and is cleared when
/// returned: it holds telemetry in the clear.
/// </summary>
internal sealed class BlockBuffer : IDisposable
{
    private readonly List<IndexedRecord> _records = [];
    private readonly HashSet<IndexedTrace> _traces = [];
    private readonly List<IndexedSegment> _segments = [];
    private readonly Utf8Set _services = new(StoreFormat.MaxIndexedStrings);
    private readonly Utf8Set _names = new(StoreFormat.MaxIndexedStrings);
    private byte[] _buffer;
    private int _length;
    private ulong _minStart;
    private ulong _maxEnd;
    private ulong _minDuration;
    private ulong _maxDuration;

    public BlockBuffer()
    {
        _buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        Reset();
    }

    /// <summary>Plaintext bytes (block_version byte and records).</summary>
    public int Length => _length;

    public int RecordCount => _records.Count;

    public IReadOnlyList<IndexedSegment> Segments => _segments;

    /// <summary>When the first record of this block was committed; null while empty.</summary>
    public DateTimeOffset? FirstRecordAt { get; private set; }

    public ReadOnlySpan<byte> Plaintext => _buffer.AsSpan(0, _length);

    public void AddSegment(ulong seq, uint segmentId) => _segments.Add(new IndexedSegment(seq, segmentId));

    public void Append(OtlpSignal signal, ReadOnlySpan<byte> payload, DateTimeOffset now)
    {
        int needed = _length + StoreFormat.RecordHeaderSize + payload.Length;
        if (needed > _buffer.Length)
        {
            Grow(needed);
        }

        int offset = _length;
        StoreFormat.WriteRecordHeader(_buffer.AsSpan(offset), (byte)signal, payload.Length);
        payload.CopyTo(_buffer.AsSpan(offset + StoreFormat.RecordHeaderSize));
        _length = needed;
        FirstRecordAt ??= now;

        var visitor = new IndexingVisitor(this, _records.Count);
        ulong minStart = 0;
        ulong maxEnd = 0;
        if (signal == OtlpSignal.Traces)
        {
            // Validated by the receiver already; this second pass only gathers the index.
            if (OtlpValidator.TryValidate(payload, signal, ref visitor, out var summary, out _))
            {
                minStart = summary.MinStartTimeUnixNano;
                maxEnd = summary.MaxEndTimeUnixNano;
            }
        }

        _records.Add(new IndexedRecord((byte)signal, offset, payload.Length, visitor.Spans, minStart, maxEnd));
    }

    public BlockIndex BuildIndex(byte[] blockObjectId, long sealedLength)
    {
        var traces = new IndexedTrace[_traces.Count];
        _traces.CopyTo(traces);
        Array.Sort(traces, static (a, b) => a.TraceId != b.TraceId ? a.TraceId.CompareTo(b.TraceId) : a.Record.CompareTo(b.Record));
        bool anySpan = _minStart != ulong.MaxValue;
        return new BlockIndex
        {
            BlockObjectId = blockObjectId,
            BlockSealedLength = sealedLength,
            BlockPlainLength = _length,
            MinStart = anySpan ? _minStart : 0,
            MaxEnd = _maxEnd,
            MinDuration = anySpan ? _minDuration : 0,
            MaxDuration = _maxDuration,
            Flags = (byte)((_services.Overflowed ? BlockIndex.ServicesOverflow : 0) | (_names.Overflowed ? BlockIndex.NamesOverflow : 0)),
            Segments = _segments.ToArray(),
            Records = _records.ToArray(),
            Services = _services.ToStrings(),
            Names = _names.ToStrings(),
            Traces = traces,
        };
    }

    public void Reset()
    {
        Array.Clear(_buffer, 0, _length);
        _buffer[0] = StoreFormat.BlockVersion;
        _length = 1;
        _records.Clear();
        _traces.Clear();
        _segments.Clear();
        _services.Clear();
        _names.Clear();
        _minStart = ulong.MaxValue;
        _maxEnd = 0;
        _minDuration = ulong.MaxValue;
        _maxDuration = 0;
        FirstRecordAt = null;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer, clearArray: true);
        _buffer = [];
        _length = 0;
    }

    private void Grow(int needed)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, (int)Math.Min(Array.MaxLength, 2L * _buffer.Length)));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer, clearArray: true);
        _buffer = bigger;
    }

    /// <summary>Per span: a trace-id entry and the block's time and duration bounds; no allocation unless a name is new.</summary>
    private struct IndexingVisitor(BlockBuffer owner, int record) : IOtlpSpanVisitor
    {
        public int Spans;

        public readonly void OnResource(ReadOnlySpan<byte> serviceNameUtf8) => owner._services.Add(serviceNameUtf8);

        public void OnSpan(ReadOnlySpan<byte> traceId, ReadOnlySpan<byte> spanId, ulong startTimeUnixNano, ulong endTimeUnixNano, ReadOnlySpan<byte> nameUtf8)
        {
            Spans++;
            if (traceId.Length == 16)
            {
                owner._traces.Add(new IndexedTrace(BinaryPrimitives.ReadUInt128BigEndian(traceId), record));
            }

            owner._names.Add(nameUtf8);
            ulong duration = endTimeUnixNano >= startTimeUnixNano ? endTimeUnixNano - startTimeUnixNano : 0;
            owner._minStart = Math.Min(owner._minStart, startTimeUnixNano);
            owner._maxEnd = Math.Max(owner._maxEnd, endTimeUnixNano);
            owner._minDuration = Math.Min(owner._minDuration, duration);
            owner._maxDuration = Math.Max(owner._maxDuration, duration);
        }
    }
}
