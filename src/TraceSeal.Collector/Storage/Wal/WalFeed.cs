using System.Text;
using Microsoft.Win32.SafeHandles;
using TraceSeal.Collector.Exporters.Otlp.Queue;
using TraceSeal.Sealing;
using TraceSeal.Storage;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;

namespace TraceSeal.Collector.Storage.Wal;

/// <summary>
/// A forwarder (`otlp` / `otlphttp`) that reads a sealed store's WAL instead of keeping a log of its own
/// (docs/format.md §14.11, docs/architecture.md): the store's segments are the one log, the block cut is one consumer
/// and every forwarder another, each with its own persisted cursor per tenant.
/// </summary>
/// <param name="Id">The exporter id (it names the cursor file).</param>
/// <param name="Key">The forwarder's key: every segment's key header is sealed to it, so it opens the frames.</param>
/// <param name="CreateSender">Makes the forwarder's sender (its delivery, counters and batching) for one tenant's feed.</param>
/// <param name="Counters">The forwarder's counters: segments found gone at start are counted there.</param>
/// <param name="Signals">The signals of its pipelines; null = all. A version 1 record (docs/format.md §14.12: written
/// before records named their consumers, or by a caller that names none) is its own when its signal is one of these.</param>
internal sealed record WalConsumer(string Id, QueueKey Key, Func<ISenderLog, QueueSender> CreateSender, Exporters.Otlp.ExporterCounters Counters,
    IReadOnlySet<TraceSeal.Otlp.OtlpSignal>? Signals = null)
{
    /// <summary>`wal/TENANT/forward-ID.cursor`; characters other than [A-Za-z0-9_-] as `~xx` (UTF-8 hex), so ids map one to one.</summary>
    public string CursorFileName { get; } = "forward-" + Escape(Id) + WalFeed.CursorExtension;

    /// <summary>How version 2 records name this forwarder (docs/format.md §14.12): a hash of <see cref="Id"/>, like its cursor's name.</summary>
    public ulong ConsumerId { get; } = StoreFormat.ConsumerId(Id);

    private static string Escape(string id)
    {
        var name = new StringBuilder();
        foreach (byte b in Encoding.UTF8.GetBytes(id))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'_')
            {
                name.Append((char)b);
            }
            else
            {
                name.Append('~').Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return name.ToString();
    }
}

/// <summary>
/// One WAL segment as the forwarders see it: its key header file (`SEQ-ID.walkey`, §14.11) and, for a segment of
/// this run, a read handle opened before it could be renamed into blocks/. Every feed holds it once; when the last
/// has passed it (<see cref="Release"/>) the key header is deleted: the collector can no longer open the segment,
/// which from then on is only the store's (retention and the `s3` uploader may remove its local copy, <see cref="ForwardHolds"/>).
/// </summary>
internal sealed class ForwardedSegment(string keyHeaderPath, int consumers, SafeFileHandle? file, ForwardHolds holds)
{
    private int _owed = consumers;
    private int _holders = consumers;

    public SafeFileHandle? File => file;

    public string KeyHeaderPath => keyHeaderPath;

    /// <summary>One feed passed the segment; when every feed has, the key header is deleted (and the segment is no longer held, <see cref="ForwardHolds"/>).</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _owed) == 0)
        {
            holds.Passed(keyHeaderPath);
        }

        Drop();
    }

    /// <summary>A feed lets go of it (passed, stopped or crashed); the last one closes the handle. The key header stays unless every feed passed.</summary>
    public void Drop()
    {
        if (Interlocked.Decrement(ref _holders) == 0)
        {
            file?.Dispose();
        }
    }
}

/// <summary>
/// One tenant of a sealed store's WAL as one forwarder reads it (<see cref="ISenderLog"/>): the tenant's writer
/// publishes each frame here after its fsync (<see cref="Publish"/>), the forwarder's <see cref="QueueSender"/> reads
/// them in order with its own cursor (`wal/TENANT/forward-ID.cursor`), and its unforwarded bytes are its backlog,
/// which the tenant's admission bounds by `wal::max_backlog_bytes` (a slow forwarder holds back only its own cursor,
/// and clients get retryable refusals before the disk fills). Closing a segment early when the sender catches up
/// (as the forwarding queue does) would make small blocks; here the segment is closed by the store's own rules.
/// </summary>
internal sealed class WalFeed(WalConsumer consumer, string tenant, string walDir, QueueCursor start, ulong recoveredThroughSeq) : ISenderLog
{
    public const string KeyHeaderExtension = StoreFormat.KeyHeaderExtension;
    public const string CursorExtension = ".cursor";

    private readonly Lock _lock = new();
    private readonly List<(QueueSegment Segment, ForwardedSegment Shared)> _segments = [];
    private TaskCompletionSource _changed = NewSignal();
    private long _backlog;
    private QueueSender? _sender;

    public WalConsumer Consumer => consumer;

    public ObjectKind Kind => ObjectKind.WalSegment;

    /// <summary>The tenant: every segment's (key) header must carry it.</summary>
    public string Label => tenant;

    public IIdentity Identity => consumer.Key.Identity;

    public QueueCursor StartCursor => start;

    public ulong RecoveredThroughSeq => recoveredThroughSeq;

    public Task Changed => Volatile.Read(ref _changed).Task;

    /// <summary>Bytes of the tenant's WAL this forwarder has not yet forwarded.</summary>
    public long BacklogBytes => Interlocked.Read(ref _backlog);

    public void Start()
    {
        // The cursor file says, from the first start on, that this forwarder reads the tenant's WAL: if a later config
        // renames or removes it, the next start names the records it leaves behind (ForwarderCursorOrphaned), and a start
        // that finds it owed nothing deletes it (ForwarderCursorDeleted). Only that
        // warning needs it (no file reads as this same cursor), so a full disk does not stop the feed: the sender's
        // first cursor write makes it.
        if (!File.Exists(Path.Combine(walDir, consumer.CursorFileName)))
        {
            try
            {
                WriteCursor(start);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        _sender = consumer.CreateSender(this);
        _sender.Start();
    }

    /// <summary>Stops the sender where it is (the rest is sent from the cursor at the next start); the key headers stay.</summary>
    public async Task StopAsync()
    {
        if (_sender is not null)
        {
            await _sender.StopAsync().ConfigureAwait(false);
        }

        lock (_lock)
        {
            foreach (var (_, shared) in _segments)
            {
                shared.Drop();
            }

            _segments.Clear();
        }
    }

    /// <summary>A segment to forward: a new one of the writer, or one an earlier run left (with its backlog from the cursor).</summary>
    public void Add(QueueSegment segment, ForwardedSegment shared, long backlog)
    {
        lock (_lock)
        {
            _segments.Add((segment, shared));
        }

        Interlocked.Add(ref _backlog, backlog);
        Signal();
    }

    /// <summary>The writer made <paramref name="frame"/> of <paramref name="segment"/> durable (its fsync returned).</summary>
    public void Publish(QueueSegment segment, LogFrame frame, long frameBytes)
    {
        segment.Publish(frame);
        Interlocked.Add(ref _backlog, frameBytes);
        Signal();
    }

    /// <summary>The writer appends no more to <paramref name="segment"/>.</summary>
    public void Retire(QueueSegment segment)
    {
        segment.Retire();
        Signal();
    }

    public QueueSegment? First()
    {
        lock (_lock)
        {
            return _segments.Count > 0 ? _segments[0].Segment : null;
        }
    }

    public void RequestClose(QueueSegment segment, int frames)
    {
        // The store closes segments by its own rules (size, block::max_age): a block per catch-up would be tiny.
    }

    public void Finish(QueueSegment segment)
    {
        ForwardedSegment? shared = null;
        lock (_lock)
        {
            int i = _segments.FindIndex(s => ReferenceEquals(s.Segment, segment));
            if (i >= 0)
            {
                shared = _segments[i].Shared;
                _segments.RemoveAt(i);
            }
        }

        shared?.Release();
    }

    public void Release(long frameBytes) => Interlocked.Add(ref _backlog, -frameBytes);

    public void WriteCursor(QueueCursor cursor) => cursor.Write(walDir, consumer.CursorFileName);

    /// <summary>
    /// A version 2 record is this forwarder's when it names it (the pipelines that wrote it were the forwarder's,
    /// whatever they are called now); a version 1 record names nobody and is for every forwarder of its signal, the
    /// rule under which forwarders attached when such records were written (docs/format.md §14.12).
    /// </summary>
    public bool Wants(in LogRecord record) => record.Consumers is { } ids
        ? StoreFormat.NamesConsumer(ids.Span, consumer.ConsumerId)
        : consumer.Signals?.Contains((TraceSeal.Otlp.OtlpSignal)record.Signal) ?? true;

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void Signal() => Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();
}
