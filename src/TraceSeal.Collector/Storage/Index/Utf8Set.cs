namespace TraceSeal.Collector.Storage.Index;

/// <summary>
/// A set of distinct UTF-8 strings looked up by span: a byte[] is allocated only for a value not seen
/// before, so indexing repeated service and span names allocates nothing per span.
/// </summary>
internal sealed class Utf8Set
{
    private readonly HashSet<byte[]> _set = new(Comparer.Instance);
    private readonly HashSet<byte[]>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private readonly int _maxCount;

    public Utf8Set(int maxCount)
    {
        _maxCount = maxCount;
        _lookup = _set.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <summary>Set when a value was dropped (too many or too long): the set is then incomplete.</summary>
    public bool Overflowed { get; private set; }

    public void Add(ReadOnlySpan<byte> value)
    {
        if (_lookup.Contains(value))
        {
            return;
        }

        if (_set.Count >= _maxCount || value.Length > ushort.MaxValue)
        {
            Overflowed = true;
            return;
        }

        _lookup.Add(value);
    }

    public List<string> ToStrings()
    {
        var list = new List<string>(_set.Count);
        foreach (var v in _set)
        {
            list.Add(System.Text.Encoding.UTF8.GetString(v));
        }

        list.Sort(StringComparer.Ordinal);
        return list;
    }

    public void Clear()
    {
        _set.Clear();
        Overflowed = false;
    }

    private sealed class Comparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly Comparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var hash = default(HashCode);
            hash.AddBytes(alternate);
            return hash.ToHashCode();
        }

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
