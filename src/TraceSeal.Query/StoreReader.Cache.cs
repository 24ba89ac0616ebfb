namespace TraceSeal.Query;

/// <summary>How a <see cref="StoreReader"/> behaves when it lives long (a query service) rather than for one query.</summary>
public sealed record StoreReaderOptions
{
    /// <summary>
    /// 64 MiB: decrypted manifests, summaries and indexes kept in memory (never on disk), least recently used out
    /// first. They are keyed by object name and size — every one of them is written once under a fresh name (a
    /// manifest's name carries its generation), and a rewrap that changes an object changes its size — so a cached
    /// entry is exactly what reading the object again would give. 0 turns the cache off.
    /// </summary>
    public long IndexCacheBytes { get; init; } = 64L * 1024 * 1024;
}

/// <summary>
/// The bounded cache behind <see cref="StoreReaderOptions.IndexCacheBytes"/>: thread-safe (a service queries from
/// many threads), least recently used first out, sized by an estimate of each decoded object's memory.
/// </summary>
internal sealed class DecodedObjectCache(long capacityBytes)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<CacheKey, LinkedListNode<Entry>> _map = [];
    private readonly LinkedList<Entry> _lru = new();
    private long _bytes;

    /// <summary>Estimated bytes held.</summary>
    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
            }
        }
    }

    public bool TryGet<T>(CacheKey key, out T value)
        where T : class
    {
        lock (_gate)
        {
            if (_map.TryGetValue(key, out var node) && node.Value.Value is T found)
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                value = found;
                return true;
            }
        }

        value = null!;
        return false;
    }

    public void Add(CacheKey key, object value, long bytes)
    {
        if (bytes > capacityBytes)
        {
            return; // larger than the whole cache: not kept
        }

        lock (_gate)
        {
            if (_map.Remove(key, out var old))
            {
                _lru.Remove(old);
                _bytes -= old.Value.Bytes;
            }

            _map[key] = _lru.AddFirst(new Entry(key, value, bytes));
            _bytes += bytes;
            while (_bytes > capacityBytes && _lru.Last is { } last)
            {
                _lru.RemoveLast();
                _map.Remove(last.Value.Key);
                _bytes -= last.Value.Bytes;
            }
        }
    }

    /// <summary>An object by name and listed size (and, for an index, its block's listed size).</summary>
    internal readonly record struct CacheKey(string Key, long Size, long Other = 0);

    private sealed record Entry(CacheKey Key, object Value, long Bytes);
}
