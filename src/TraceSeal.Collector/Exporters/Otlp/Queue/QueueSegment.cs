namespace TraceSeal.Collector.Exporters.Otlp.Queue;

/// <summary>
/// One queue segment file. The writer loop appends and publishes <see cref="Committed"/> only after the
/// frame is fsync'd, so the sender never reads past what was acknowledged (nor into a frame being written).
/// </summary>
internal sealed class QueueSegment(ulong seq, uint id, string path)
{
    private long _committed;
    private int _closed;

    public ulong Seq { get; } = seq;

    public uint Id { get; } = id;

    public string Path { get; } = path;

    /// <summary>Bytes of complete, fsync'd frames.</summary>
    public long Committed => Interlocked.Read(ref _committed);

    /// <summary>The writer will not append any more.</summary>
    public bool Closed => Volatile.Read(ref _closed) != 0;

    internal void Publish(long committed) => Interlocked.Exchange(ref _committed, committed);

    internal void Close() => Volatile.Write(ref _closed, 1);
}
