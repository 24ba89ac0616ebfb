namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>Items (spans, data points, log records) by outcome; read by /metrics and tests.</summary>
internal sealed class ExporterCounters
{
    private long _sent;
    private long _failed;
    private long _retried;
    private long _attempts;
    private long _queued;
    private long _replayed;
    private long _unreadableFrames;
    private long _lostSegments;

    /// <summary>Accepted by upstream (minus partial_success rejections).</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Dropped after a permanent refusal or partial rejection, or handed back to the client after the retry budget ran out.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Items in attempts that were retried (an item retried twice counts twice).</summary>
    public long Retried => Interlocked.Read(ref _retried);

    /// <summary>Requests sent upstream, retries included.</summary>
    public long Attempts => Interlocked.Read(ref _attempts);

    /// <summary>Sealed into the sending queue and acknowledged to the client.</summary>
    public long Queued => Interlocked.Read(ref _queued);

    /// <summary>Sent from queue segments an earlier run left: at-least-once, so some may be duplicates upstream.</summary>
    public long Replayed => Interlocked.Read(ref _replayed);

    /// <summary>Queue frames that did not open with the queue key (tampered or damaged); their data is lost.</summary>
    public long UnreadableFrames => Interlocked.Read(ref _unreadableFrames);

    /// <summary>WAL segments (docs/format.md §14.11) this forwarder had not passed that were gone at start: their data was not forwarded.</summary>
    public long LostSegments => Interlocked.Read(ref _lostSegments);

    internal void OnLostSegments(long segments) => Interlocked.Add(ref _lostSegments, segments);

    internal void OnQueued(long items) => Interlocked.Add(ref _queued, items);

    internal void OnReplayed(long items) => Interlocked.Add(ref _replayed, items);

    internal void OnUnreadableFrame() => Interlocked.Increment(ref _unreadableFrames);

    internal void OnSent(long items) => Interlocked.Add(ref _sent, items);

    internal void OnFailed(long items) => Interlocked.Add(ref _failed, items);

    internal void OnRetried(long items) => Interlocked.Add(ref _retried, items);

    internal void OnAttempt() => Interlocked.Increment(ref _attempts);
}
