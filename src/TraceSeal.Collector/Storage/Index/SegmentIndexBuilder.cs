using TraceSeal.Storage.Format;

namespace TraceSeal.Collector.Storage.Index;

/// <summary>
/// The index of one segment (= one block, index version 2, docs/format.md §14.5), built from the entries the
/// receivers gathered while validating (<see cref="RequestIndex"/>): no payload is parsed here. Trace ids are
/// collected in an array and sorted and deduplicated once, at the cut — clients choose trace ids, so no hash
/// table keyed by them is used (ids crafted to collide would make one quadratic).
/// </summary>
internal sealed class SegmentIndexBuilder
{
    private readonly List<IndexedRecord> _records = [];
    private readonly Utf8Set _services = new(StoreFormat.MaxIndexedStrings);
    private readonly Utf8Set _names = new(StoreFormat.MaxIndexedStrings);
    private IndexedTrace[] _traces = new IndexedTrace[1024];
    private int _traceCount;
    private ulong _minStart = ulong.MaxValue;
    private ulong _maxEnd;
    private ulong _minDuration = ulong.MaxValue;
    private ulong _maxDuration;

    public int RecordCount => _records.Count;

    public void Add(byte signal, uint frameIndex, long frameOffset, int frameSealedLength, int offsetInFrame, int length, RequestIndex? request)
    {
        int record = _records.Count;
        ulong minStart = 0;
        ulong maxEnd = 0;
        int spans = 0;
        if (request is not null)
        {
            spans = request.Spans;
            if (spans > 0)
            {
                minStart = request.MinStart;
                maxEnd = request.MaxEnd;
                _minStart = Math.Min(_minStart, request.MinStart);
                _maxEnd = Math.Max(_maxEnd, request.MaxEnd);
                _minDuration = Math.Min(_minDuration, request.MinDuration);
                _maxDuration = Math.Max(_maxDuration, request.MaxDuration);
            }

            var ids = request.TraceIds;
            if (_traceCount + ids.Length > _traces.Length)
            {
                Array.Resize(ref _traces, Math.Max(_traces.Length * 2, _traceCount + ids.Length));
            }

            foreach (var id in ids)
            {
                _traces[_traceCount++] = new IndexedTrace(id, record);
            }

            for (int i = 0; i < request.StringCount; i++)
            {
                var (service, value) = request.StringAt(i);
                (service ? _services : _names).Add(value.Span);
            }
        }

        _records.Add(new IndexedRecord(signal, frameOffset, length, spans, minStart, maxEnd)
        {
            FrameIndex = frameIndex,
            FrameLength = frameSealedLength,
            OffsetInFrame = offsetInFrame,
        });
    }

    public BlockIndex Build(byte[] objectId, long sealedLength, uint frames)
    {
        Array.Sort(_traces, 0, _traceCount, TraceOrder.Instance);
        int unique = 0;
        for (int i = 0; i < _traceCount; i++)
        {
            if (unique == 0 || _traces[i] != _traces[unique - 1])
            {
                _traces[unique++] = _traces[i];
            }
        }

        bool anySpan = _minStart != ulong.MaxValue;
        return new BlockIndex
        {
            Version = StoreFormat.IndexVersion2,
            BlockObjectId = objectId,
            BlockSealedLength = sealedLength,
            BlockPlainLength = frames,
            MinStart = anySpan ? _minStart : 0,
            MaxEnd = _maxEnd,
            MinDuration = anySpan ? _minDuration : 0,
            MaxDuration = _maxDuration,
            Flags = (byte)((_services.Overflowed ? BlockIndex.ServicesOverflow : 0) | (_names.Overflowed ? BlockIndex.NamesOverflow : 0)),
            Segments = [],
            Records = _records.ToArray(),
            Services = _services.ToStrings(),
            Names = _names.ToStrings(),
            Traces = _traces.AsSpan(0, unique).ToArray(),
        };
    }

    private sealed class TraceOrder : IComparer<IndexedTrace>
    {
        public static readonly TraceOrder Instance = new();

        public int Compare(IndexedTrace a, IndexedTrace b) =>
            a.TraceId != b.TraceId ? a.TraceId.CompareTo(b.TraceId) : a.Record.CompareTo(b.Record);
    }
}
