using TraceSeal.Otlp;
using TraceSeal.Sealing;

namespace TraceSeal.Collector.Exporters.Otlp.Queue;

/// <summary>
/// What a <see cref="QueueSender"/> reads from: a sealed log of segments published frame by frame after their fsync,
/// and the one cursor it persists there. Two logs implement it: the forwarding exporter's own sealed queue
/// (<see cref="QueueLog"/>, docs/format.md §13), and a tenant of a sealed store's WAL read as one of its consumers
/// (<c>Storage.Wal.WalFeed</c>, §14.11), so one sender — one cursor, window of requests in flight, batching, retry and deletion rule — serves both.
/// </summary>
internal interface ISenderLog
{
    /// <summary>The kind every segment header must carry (queue, or wal-segment for a WAL feed).</summary>
    ObjectKind Kind { get; }

    /// <summary>The tenant label every segment header must carry (the exporter id, or the WAL's tenant).</summary>
    string Label { get; }

    /// <summary>The identity that opens the segments (or their key headers).</summary>
    IIdentity Identity { get; }

    /// <summary>Bytes the sender has not forwarded yet.</summary>
    long BacklogBytes { get; }

    /// <summary>Where the sender starts: the persisted cursor, moved past segments that no longer exist.</summary>
    QueueCursor StartCursor { get; }

    /// <summary>Segments up to this sequence number were left by an earlier run: what is sent from them may be a duplicate.</summary>
    ulong RecoveredThroughSeq { get; }

    /// <summary>Completes at the next commit or segment retirement; take it before checking, then await it.</summary>
    Task Changed { get; }

    /// <summary>The oldest segment the sender has not finished, or null when there is none.</summary>
    QueueSegment? First();

    /// <summary>The sender has forwarded all <paramref name="frames"/> frames of the live segment, nothing in flight (the log may retire it early, or not).</summary>
    void RequestClose(QueueSegment segment, int frames);

    /// <summary>The sender's cursor has passed the last frame of a retired segment (no request of it is in flight).</summary>
    void Finish(QueueSegment segment);

    /// <summary>A forwarded (or dropped) frame no longer counts as this sender's backlog.</summary>
    void Release(long frameBytes);

    /// <summary>Persists the cursor atomically (temp 0600, fsync, rename, fsync directory).</summary>
    void WriteCursor(QueueCursor cursor);

    /// <summary>
    /// Whether <paramref name="record"/> is the sender's to forward; the others are passed over as forwarded. Its own
    /// queue holds only its own; a WAL also holds records of pipelines the forwarder is not in (WalFeed).
    /// </summary>
    bool Wants(in TraceSeal.Storage.Log.LogRecord record) => true;
}
