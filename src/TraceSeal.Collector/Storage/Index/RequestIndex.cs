using System.Buffers.Binary;
using System.Collections.Concurrent;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Storage.Index;

/// <summary>
/// What the index needs from one trace request, gathered by the receiver's validation pass (the only pass
/// over the request: the writer never parses a payload again). Pooled: <see cref="Rent"/> / <see cref="Return"/>;
/// arrays grow to the largest request seen and are reused, so indexing allocates nothing per span.
/// Consecutive spans of one trace (the common case) are entered once; service and span names only when they
/// differ from the previous one. Full deduplication happens once per segment (sort, then unique).
/// </summary>
internal sealed class RequestIndex
{
    private static readonly ConcurrentBag<RequestIndex> Pool = [];
    private const int MaxPooled = 64;

    // ConcurrentBag.Count takes every per-thread lock: the pool keeps its own count instead.
    private static int s_pooled;

    private UInt128[] _traceIds = new UInt128[64];
    private byte[] _strings = new byte[1024];
    private (bool Service, int Offset, int Length)[] _stringRefs = new (bool, int, int)[16];
    private int _stringBytes;
    private UInt128 _lastTrace;
    private int _lastName = -1;
    private int _lastService = -1;

    public int TraceCount { get; private set; }

    public int StringCount { get; private set; }

    public int Spans { get; private set; }

    public ulong MinStart { get; private set; } = ulong.MaxValue;

    public ulong MaxEnd { get; private set; }

    public ulong MinDuration { get; private set; } = ulong.MaxValue;

    public ulong MaxDuration { get; private set; }

    public ReadOnlySpan<UInt128> TraceIds => _traceIds.AsSpan(0, TraceCount);

    public static RequestIndex Rent()
    {
        if (Pool.TryTake(out var index))
        {
            Interlocked.Decrement(ref s_pooled);
            return index;
        }

        return new RequestIndex();
    }

    public static void Return(RequestIndex? index)
    {
        if (index is null)
        {
            return;
        }

        index.Reset();
        if (Interlocked.Increment(ref s_pooled) <= MaxPooled)
        {
            Pool.Add(index);
        }
        else
        {
            Interlocked.Decrement(ref s_pooled);
        }
    }

    public (bool Service, ReadOnlyMemory<byte> Value) StringAt(int i)
    {
        var r = _stringRefs[i];
        return (r.Service, _strings.AsMemory(r.Offset, r.Length));
    }

    /// <summary>The validator calls this visitor; it writes into <paramref name="owner"/>.</summary>
    public Visitor CreateVisitor() => new(this);

    private void OnResource(ReadOnlySpan<byte> service)
    {
        if (_lastService >= 0 && _stringRefs[_lastService].Length == service.Length
            && _strings.AsSpan(_stringRefs[_lastService].Offset, service.Length).SequenceEqual(service))
        {
            return;
        }

        _lastService = AddString(true, service);
    }

    private void OnSpan(ReadOnlySpan<byte> traceId, ulong start, ulong end, ReadOnlySpan<byte> name)
    {
        Spans++;
        if (traceId.Length == 16)
        {
            var id = BinaryPrimitives.ReadUInt128BigEndian(traceId);
            if (TraceCount == 0 || id != _lastTrace)
            {
                if (TraceCount == _traceIds.Length)
                {
                    Array.Resize(ref _traceIds, _traceIds.Length * 2);
                }

                _traceIds[TraceCount++] = id;
                _lastTrace = id;
            }
        }

        if (_lastName < 0 || _stringRefs[_lastName].Length != name.Length
            || !_strings.AsSpan(_stringRefs[_lastName].Offset, name.Length).SequenceEqual(name))
        {
            _lastName = AddString(false, name);
        }

        ulong duration = end >= start ? end - start : 0;
        MinStart = Math.Min(MinStart, start);
        MaxEnd = Math.Max(MaxEnd, end);
        MinDuration = Math.Min(MinDuration, duration);
        MaxDuration = Math.Max(MaxDuration, duration);
    }

    private int AddString(bool service, ReadOnlySpan<byte> value)
    {
        if (_stringBytes + value.Length > _strings.Length)
        {
            Array.Resize(ref _strings, Math.Max(_strings.Length * 2, _stringBytes + value.Length));
        }

        if (StringCount == _stringRefs.Length)
        {
            Array.Resize(ref _stringRefs, _stringRefs.Length * 2);
        }

        value.CopyTo(_strings.AsSpan(_stringBytes));
        _stringRefs[StringCount] = (service, _stringBytes, value.Length);
        _stringBytes += value.Length;
        return StringCount++;
    }

    private void Reset()
    {
        TraceCount = 0;
        StringCount = 0;
        Spans = 0;
        _stringBytes = 0;
        _lastName = -1;
        _lastService = -1;
        MinStart = ulong.MaxValue;
        MaxEnd = 0;
        MinDuration = ulong.MaxValue;
        MaxDuration = 0;
    }

    /// <summary>A struct so the validator's generic call is direct (no boxing, no virtual call per span).</summary>
    internal readonly struct Visitor(RequestIndex owner) : IOtlpSpanVisitor
    {
        public void OnResource(ReadOnlySpan<byte> serviceNameUtf8) => owner.OnResource(serviceNameUtf8);

        public void OnSpan(ReadOnlySpan<byte> traceId, ReadOnlySpan<byte> spanId, ulong startTimeUnixNano, ulong endTimeUnixNano, ReadOnlySpan<byte> nameUtf8) =>
            owner.OnSpan(traceId, startTimeUnixNano, endTimeUnixNano, nameUtf8);
    }
}
