namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>Items (spans, data points, log records) by outcome; read by /metrics and tests.</summary>
internal sealed class ExporterCounters
{
    private long _sent;
    private long _failed;
    private long _retried;
    private long _attempts;

    /// <summary>Accepted by upstream (minus partial_success rejections).</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Dropped after a permanent refusal or partial rejection, or handed back to the client after the retry budget ran out.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Items in attempts that were retried (an item retried twice counts twice).</summary>
    public long Retried => Interlocked.Read(ref _retried);

    /// <summary>Requests sent upstream, retries included.</summary>
    public long Attempts => Interlocked.Read(ref _attempts);

    internal void OnSent(long items) => Interlocked.Add(ref _sent, items);

    internal void OnFailed(long items) => Interlocked.Add(ref _failed, items);

    internal void OnRetried(long items) => Interlocked.Add(ref _retried, items);

    internal void OnAttempt() => Interlocked.Increment(ref _attempts);
}
