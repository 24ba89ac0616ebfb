using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Sealing;
using TraceSeal.Sealing.Files;
using TraceSeal.Storage;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;

namespace TraceSeal.Collector.Exporters.Otlp.Queue;

/// <summary>
/// The sealed sending queue of one forwarding exporter (docs/format.md §13): a directory of segments, each a sealed
/// log (§14) of kind queue, labelled with the exporter id and sealed to the exporter's queue key only. The log
/// itself — one key agreement per segment, frames bound to their position, the end frame, one positioned write and
/// fsync per frame — is the store's <see cref="LogSegmentWriter"/>; this class adds the queue's policy.
///
/// Group commit is the storage's one writer (<see cref="GroupCommitLog{TAppend}"/>, the sealed store's WAL runs on it
/// too); this class is its owner. Appenders copy their request into a pooled buffer (an exporter must not hold the
/// receiver's buffer past its first await), enqueue it and wait. The writer loop takes every pending request (up to
/// <see cref="MaxFrameBytes"/>), writes their records (§12.2 record layout) into one staging buffer, appends them as
/// ONE frame, and publishes the frame to the sender and completes the waiters only after the fsync: an
/// acknowledgement means sealed and durable. Backlog (bytes not yet forwarded) is bounded by `max_backlog_bytes`;
/// beyond it appends are refused, retryable.
///
/// A segment is retired (takes no more frames) when it reaches <see cref="DefaultSegmentBytes"/>, when the sender has
/// caught up with it, on a failed write and at stop; then <see cref="LogSegmentWriter.Close"/> writes its end frame
/// (over the torn tail of a failed write). A close that fails (a full disk) is retried every
/// <see cref="CloseRetryInterval"/> until it succeeds, or until the sender has forwarded everything in it, when the
/// end frame is no longer needed and the segment is simply deleted. Failures are refused retryably and logged by the
/// WAL's policy (<see cref="FailureLogPolicy"/>): the first at Error, then one every 30 s, the rest at Debug.
///
/// The sender (<see cref="QueueSender"/>) reads published frames in order and hands back segments it has finished.
/// </summary>
internal sealed class QueueLog : ISenderLog, IGroupCommitOwner<LogAppend>, IAsyncDisposable
{
    public const string Extension = ".queue";
    public const string LockFileName = "queue.lock";

    /// <summary>Segments roll at this size, so that sent data is deleted in bounded steps during long outages.</summary>
    public const long DefaultSegmentBytes = 16L * 1024 * 1024;

    /// <summary>One group commit seals at most this much (as the sealed store's frames).</summary>
    private const int MaxFrameBytes = 4 * 1024 * 1024;

    /// <summary>While a retired segment still waits for its end frame (a full disk), the writer tries again this often.</summary>
    private static readonly TimeSpan CloseRetryInterval = TimeSpan.FromSeconds(1);

    private readonly List<QueueSegment> _segments = [];
    private readonly List<(QueueSegment Segment, LogSegmentWriter Writer)> _retired = [];
    private readonly Lock _segmentsLock = new();
    private readonly IRecipient[] _recipients;
    private readonly FileStream _lock;
    private readonly ILogger _logger;
    private readonly string _exporter;
    private readonly long _segmentBytes;
    private readonly FailureLogPolicy _closeFailures = new();
    private GroupCommitLog<LogAppend> _log = null!;
    private TaskCompletionSource _changed = NewSignal();
    private QueueSegment? _active;

    private QueueLog(string directory, string label, QueueKey key, long maxBacklogBytes, long segmentBytes, FileStream lockFile, ILogger logger, string exporter)
    {
        Directory = directory;
        Label = label;
        Key = key;
        MaxBacklogBytes = maxBacklogBytes;
        _segmentBytes = segmentBytes;
        _recipients = [key.Recipient];
        _lock = lockFile;
        _logger = logger;
        _exporter = exporter;
    }

    public string Directory { get; }

    /// <summary>The segments' tenant label: the exporter id, so segments cannot be moved between exporters' queues.</summary>
    public string Label { get; }

    public QueueKey Key { get; }

    public ObjectKind Kind => ObjectKind.Queue;

    public IIdentity Identity => Key.Identity;

    public void WriteCursor(QueueCursor cursor) => cursor.Write(Directory);

    public long MaxBacklogBytes { get; }

    /// <summary>Queued bytes not yet forwarded, plus reservations of requests being committed.</summary>
    public long BacklogBytes => _log.BacklogBytes;

    /// <summary>Where the sender starts: the persisted cursor, moved past segments that no longer exist.</summary>
    public QueueCursor StartCursor { get; private set; }

    /// <summary>Segments up to this sequence number were left by an earlier run: what is sent from them may be a duplicate.</summary>
    public ulong RecoveredThroughSeq { get; private set; }

    /// <summary>Completes at the next commit or segment retirement; take it before checking, then await it.</summary>
    public Task Changed => Volatile.Read(ref _changed).Task;

    /// <summary>
    /// Takes the directory lock, deletes what was fully sent, cuts torn tails and counts the backlog.
    /// Throws <see cref="InvalidOperationException"/> naming the directory when it cannot be used.
    /// </summary>
    public static QueueLog Open(string directory, string label, QueueKey key, long maxBacklogBytes, ILogger logger, string exporter, long segmentBytes = DefaultSegmentBytes)
    {
        if (!System.IO.Directory.Exists(directory))
        {
            DirectorySync.CreatePrivate(directory);
            DirectorySync.Fsync(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(directory))!);
        }

        var log = new QueueLog(directory, label, key, maxBacklogBytes, segmentBytes, TakeLock(directory), logger, exporter);
        try
        {
            var (nextSeq, backlog) = log.Recover();
            var settings = new GroupCommitSettings(directory, Extension, ObjectKind.Queue, label, log._recipients)
            {
                Fsync = true,
                SegmentBytes = segmentBytes,
                MaxFrameBytes = MaxFrameBytes,
            };
            log._log = new GroupCommitLog<LogAppend>(settings, log, nextSeq, backlog);
        }
        catch
        {
            log._lock.Dispose();
            throw;
        }

        log._log.Start();
        return log;
    }

    public async ValueTask<SinkResult> AppendAsync(ReceivedBatch batch)
    {
        long reserve = StoreFormat.RecordSize(batch.Payload.Length, consumers: null);
        if (!_log.TryReserve(reserve, MaxBacklogBytes))
        {
            return SinkResult.Refuse(OtlpForwardingExporter.ClientRetryAfter, OtlpForwardingExporter.QueueFullReason);
        }

        // The receiver may reuse the payload buffer once this call yields: copied (pooled) before the first await.
        // Not cancellable once enqueued: the commit completes (or fails) the waiter either way.
        var result = await _log.AppendAsync(new LogAppend((byte)batch.Signal, batch.Payload, consumers: null, reserve, copy: true)).ConfigureAwait(false);
        return result switch
        {
            LogAppendResult.Durable => SinkResult.Ok,
            LogAppendResult.WriteFailed => SinkResult.Refuse(OtlpForwardingExporter.ClientRetryAfter, "sending queue write failed"),
            _ => SinkResult.Refuse(OtlpForwardingExporter.ClientRetryAfter, "sending queue is stopping"),
        };
    }

    /// <summary>The oldest segment the sender has not finished, or null when there is none.</summary>
    public QueueSegment? First()
    {
        lock (_segmentsLock)
        {
            return _segments.Count > 0 ? _segments[0] : null;
        }
    }

    /// <summary>The sender has forwarded all <paramref name="frames"/> frames of the live segment: retire it so that it can be deleted (no-op if more was appended meanwhile).</summary>
    public void RequestClose(QueueSegment segment, int frames) =>
        _log.TryPost(new CloseRequest(segment, frames));

    /// <summary>
    /// The sender has passed the last frame of a retired segment (sender thread). Deleted now when the writer has let
    /// go of it; otherwise the writer deletes it, without waiting for its end frame any longer.
    /// </summary>
    public void Finish(QueueSegment segment)
    {
        lock (_segmentsLock)
        {
            _segments.Remove(segment);
        }

        if (segment.MarkFinished())
        {
            Delete(segment.Path);
        }
        else
        {
            _log.TryPost(CloseRequest.Poke);
        }
    }

    /// <summary>A forwarded (or dropped) frame no longer counts as backlog.</summary>
    public void Release(long frameBytes) => _log.Release(frameBytes);

    /// <summary>Graceful stop: commits what is queued, completes the live segment with its end frame (kept for the next start).</summary>
    public Task StopAsync() => _log.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await _lock.DisposeAsync().ConfigureAwait(false);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static FileStream TakeLock(string directory)
    {
        string path = Path.Combine(directory, LockFileName);
        return DirectoryLock.TryTake(path)
            ?? throw new InvalidOperationException($"{directory}: another exporter is using this sending queue directory ({path} is locked); give every exporter a directory of its own");
    }

    private void Signal() => Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();

    private void Delete(string path)
    {
        File.Delete(path);
        DirectorySync.Fsync(Directory);
    }

    /// <summary>
    /// Start: delete `*.tmp`, delete segments the cursor has passed, cut torn tails (the keyless <see cref="LogScan"/>;
    /// for v1 segments their length prefixes), and count what is left as backlog. Returns the next segment's sequence
    /// number and that backlog.
    /// </summary>
    private (ulong NextSeq, long Backlog) Recover()
    {
        foreach (string temp in System.IO.Directory.GetFiles(Directory, "*" + StoreFormat.TempExtension))
        {
            File.Delete(temp);
        }

        QueueCursor cursor = QueueCursor.Read(Directory);
        string[] files = System.IO.Directory.GetFiles(Directory, "*" + Extension);
        Array.Sort(files, StringComparer.Ordinal); // SEQ:D10 first: oldest first, v1 and v2 alike
        ulong maxSeq = cursor.Seq;
        long backlog = 0;
        bool cursorSegmentFound = false;
        foreach (string path in files)
        {
            string stem = Path.GetFileNameWithoutExtension(path);
            bool isV1 = false;
            if (!StoreFormat.TryParseLogStem(stem, out ulong seq, out string id))
            {
                if (!StoreFormat.TryParseSegmentStem(stem, out seq, out uint v1Id))
                {
                    continue;
                }

                isV1 = true;
                id = v1Id.ToString("x8", CultureInfo.InvariantCulture);
            }

            maxSeq = Math.Max(maxSeq, seq);
            uint first = seq == cursor.Seq ? cursor.Frame : 0;
            List<LogFrame>? frames = seq < cursor.Seq ? null : RecoverFrames(path, isV1);
            if (frames is null || frames.Count <= first)
            {
                // Fully forwarded before the last stop, or nothing durable in it: nothing to keep.
                File.Delete(path);
                continue;
            }

            var segment = new QueueSegment(seq, id, path, isV1, recovered: frames);
            _segments.Add(segment);
            backlog += segment.BytesFrom(first);
            cursorSegmentFound |= seq == cursor.Seq;
        }

        DirectorySync.Fsync(Directory);
        StartCursor = cursorSegmentFound || _segments.Count == 0 ? cursor : new QueueCursor(_segments[0].Seq, 0, 0);
        RecoveredThroughSeq = maxSeq;
        return (maxSeq + 1, backlog);
    }

    /// <summary>
    /// The data frames of a segment left by an earlier run, after cutting a torn tail: each frame was one write,
    /// fsync'd before it was acknowledged, so only the last one can be incomplete, and it was never acknowledged.
    /// A v2 segment may lack its end frame (a crash), or have bytes after it (a crash while a broken segment got its
    /// end frame): both are cut to the last whole frame. A frame that is whole but fails to open is the sender's to
    /// report (with its code) and skip. Null when nothing can be sent from the file.
    /// </summary>
    private List<LogFrame>? RecoverFrames(string path, bool isV1)
    {
        using SafeFileHandle file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        long length = RandomAccess.GetLength(file);
        List<LogFrame> frames;
        long good;
        bool torn = true;
        if (isV1)
        {
            // Kind and label are the sender's to check when it opens each frame (and to report, with its code).
            LogScan scan = LogScan.ScanV1(file);
            frames = [.. scan.Frames];
            good = scan.GoodLength;
        }
        else
        {
            LogScan scan;
            try
            {
                scan = LogScan.Scan(file);
            }
            catch (SealedIntegrityException e)
            {
                // Not a sealed log: no frame of it can be found, let alone opened.
                ExporterLog.QueueFrameUnreadable(_logger, _exporter, path, 0, e.Code);
                return null;
            }

            if (scan.Tail == LogTail.NoHeader)
            {
                return null; // a crash before the first frame was durable
            }

            frames = [.. scan.Frames.Take(scan.DataFrames)];
            good = scan.GoodLength;
            torn = scan.Tail != LogTail.Open; // an open log followed by zero fill (direct I/O) is cut without a word
        }

        if (good < length)
        {
            RandomAccess.SetLength(file, good);
            RandomAccess.FlushToDisk(file);
            if (torn)
            {
                ExporterLog.QueueTornTailCut(_logger, _exporter, path, length - good, good);
            }
        }

        return frames;
    }

    void IGroupCommitOwner<LogAppend>.SegmentOpened(LogSegmentWriter segment)
    {
        _active = new QueueSegment(segment.Seq, StoreFormat.BlockStemFromObjectId(segment.ObjectId), segment.Path);
        lock (_segmentsLock)
        {
            _segments.Add(_active);
        }
    }

    void IGroupCommitOwner<LogAppend>.FrameCommitted(LogSegmentWriter segment, LogFrame frame, long frameBytes, ReadOnlySpan<LogAppend> batch)
    {
        _active!.Publish(frame);
        Signal();
    }

    void IGroupCommitOwner<LogAppend>.Control(LogItem control)
    {
        // The sender caught up with the live segment and nothing was appended since: retire it, so that it can be deleted.
        if (control is CloseRequest { Segment: { } segment } close && ReferenceEquals(segment, _active) && close.Frames == segment.FrameCount)
        {
            _log.RetireSegment();
        }
    }

    /// <summary>While a retired segment still waits for its end frame (a full disk), the loop wakes this often to retry.</summary>
    TimeSpan IGroupCommitOwner<LogAppend>.WakeInterval => _retired.Count > 0 ? CloseRetryInterval : Timeout.InfiniteTimeSpan;

    void IGroupCommitOwner<LogAppend>.Woken() => CloseRetired();

    void IGroupCommitOwner<LogAppend>.Stopped(bool crashed)
    {
        CloseRetired();
        foreach (var (segment, writer) in _retired)
        {
            // Its end frame could not be written: the next start cuts it to its last whole frame.
            writer.Dispose();
            if (segment.MarkClosed())
            {
                AtomicFile.TryDelete(segment.Path);
            }
        }

        _retired.Clear();
    }

    // A full disk fails every commit: the first failure (and one every 30 s) at Error, the rest at Debug (FailureLogPolicy).
    void IGroupCommitOwner<LogAppend>.WriteFailed(int appends, Exception exception) => ExporterLog.QueueWriteFailed(_logger, _exporter, appends, exception);

    void IGroupCommitOwner<LogAppend>.WriteStillFailing(int appends) => ExporterLog.QueueWriteStillFailing(_logger, _exporter, appends);

    void IGroupCommitOwner<LogAppend>.WriteRecovered() => ExporterLog.QueueWriteRecovered(_logger, _exporter);

    /// <summary>The live segment takes no more frames (rolled, broken, caught up, stopping); it waits in <see cref="_retired"/> for its end frame.</summary>
    void IGroupCommitOwner<LogAppend>.SegmentRetired(LogSegmentWriter writer)
    {
        _retired.Add((_active!, writer));
        _active!.Retire();
        _active = null;
        Signal();
    }

    /// <summary>
    /// Completes retired segments: the end frame (over a torn tail if the segment broke), fsync, handle closed. A
    /// failure (a full disk) leaves the segment in the list for the next try. A segment the sender has already
    /// finished needs no end frame: it is deleted as it is.
    /// </summary>
    private void CloseRetired()
    {
        for (int i = 0; i < _retired.Count;)
        {
            var (segment, writer) = _retired[i];
            try
            {
                if (segment.IsFinished)
                {
                    writer.Dispose();
                    Delete(segment.Path);
                }
                else
                {
                    writer.Close();
                    if (segment.MarkClosed())
                    {
                        Delete(segment.Path);
                    }
                }

                _retired.RemoveAt(i);
                if (_closeFailures.Succeeded())
                {
                    ExporterLog.QueueWriteRecovered(_logger, _exporter);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                if (_closeFailures.Failed(Environment.TickCount64))
                {
                    ExporterLog.QueueSegmentCloseFailed(_logger, _exporter, segment.Path, (long)CloseRetryInterval.TotalMilliseconds, e);
                }

                i++;
            }
        }
    }

    /// <summary>A control item: the sender caught up with <see cref="Segment"/> at <see cref="Frames"/> frames, or (<see cref="Poke"/>) a nudge to retry closes.</summary>
    private sealed class CloseRequest(QueueSegment? segment, int frames) : LogItem
    {
        public static readonly CloseRequest Poke = new(null, 0);

        public QueueSegment? Segment => segment;

        public int Frames => frames;
    }
}
