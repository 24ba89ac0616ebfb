using System.Collections.Concurrent;

namespace TraceSeal.Collector.Receivers;

/// <summary>
/// Rate-limits refusal log lines per key (a client identity, a tenant, an address): the first refusal of a key in
/// each <see cref="Window"/> may be logged at Warning, with the number of refusals of that key left unlogged since
/// the previous line; the rest go to Debug. The counters (<see cref="ReceiverCounters"/>) keep the exact numbers,
/// so a client repeating a refused request thousands of times a second costs one Warning line a minute.
/// </summary>
/// <remarks>
/// At most <see cref="MaxKeys"/> keys are tracked; when a flood of distinct keys (many certificates, many
/// addresses) fills the table, entries older than the window are dropped and, if it is still full, every new
/// key shares one overflow entry, so memory stays bounded and the log still gets a line a minute.
/// </remarks>
internal sealed class RefusalLogLimiter
{
    public const int MaxKeys = 4096;

    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private const string OverflowKey = "\0overflow";

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public RefusalLogLimiter(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    /// <summary>
    /// True when this refusal of <paramref name="key"/> is the first of its window: log it at Warning, mentioning
    /// <paramref name="suppressed"/> refusals of the key not logged at Warning since the previous line.
    /// </summary>
    public bool ShouldWarn(string key, out long suppressed)
    {
        long now = _time.GetTimestamp();
        if (!_entries.TryGetValue(key, out Entry? entry))
        {
            if (_entries.Count >= MaxKeys)
            {
                Prune(now);
            }

            entry = _entries.Count >= MaxKeys ? _entries.GetOrAdd(OverflowKey, static _ => new Entry()) : _entries.GetOrAdd(key, static _ => new Entry());
        }

        lock (entry)
        {
            if (entry.LastWarning != 0 && _time.GetElapsedTime(entry.LastWarning, now) < Window)
            {
                entry.Suppressed++;
                suppressed = 0;
                return false;
            }

            suppressed = entry.Suppressed;
            entry.Suppressed = 0;
            entry.LastWarning = now;
            return true;
        }
    }

    private void Prune(long now)
    {
        foreach (var (key, entry) in _entries)
        {
            if (_time.GetElapsedTime(Volatile.Read(ref entry.LastWarning), now) >= Window)
            {
                _entries.TryRemove(key, out _);
            }
        }
    }

    private sealed class Entry
    {
        public long LastWarning;
        public long Suppressed;
    }
}
