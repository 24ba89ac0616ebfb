using System.Security.Cryptography;
using System.Threading.Channels;
using TraceSeal.Collector.Exporters.Otlp.Queue;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage.Blocks;
using TraceSeal.Collector.Storage.Index;
using TraceSeal.Otlp;
using TraceSeal.Sealing;
using TraceSeal.Sealing.Files;
using TraceSeal.Storage;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;

namespace TraceSeal.Collector.Storage.Wal;

/// <summary>
/// One tenant of the sealed store: a single writer loop owns the tenant's live log segment (docs/format.md §14).
///
/// Write once. The writer loop is the storage's one group-commit writer (<see cref="GroupCommitLog{TAppend}"/>, shared
/// with the forwarders' sealed queues); this class is its owner and adds the WAL's policy: version 2 records with
/// consumer lists when forwarders read the WAL, index entries per record, each durable frame published to the
/// forwarders' feeds, sequence numbers from time, `block::max_age`, and what a retired segment becomes. Appenders
/// enqueue their request (no copy: the receiver's buffer stays valid until the acknowledgement) and wait. The loop
/// takes every pending request (up to <see cref="StoreContext.MaxFrameBytes"/>), writes their records into one
/// staging buffer, and <see cref="LogSegmentWriter.Append"/> seals them as one frame under the segment's key (one key
/// agreement per segment, not per frame), writes it with one positioned write and fsyncs; then every waiter is
/// acknowledged. That write is the only time the bytes are sealed or
/// written: when the segment reaches its size (`min(wal::segment_bytes, block::max_bytes)`) or `block::max_age`,
/// it is closed (end frame) and becomes the block as it is — renamed into `blocks/` (or uploaded from there with
/// `s3`) next to a sealed index built from the entries the receivers gathered while validating. No payload is
/// copied, parsed or sealed a second time, and none of this runs before an acknowledgement.
///
/// Cuts run on their own loop (<see cref="CutLoopAsync"/>), never on the writer loop, so no cut, index or
/// retention work delays an acknowledgement.
///
/// Failures heal. A failed frame write refuses its requests (retryable) and retires the segment; the end frame
/// is written over the torn tail when the disk allows (<see cref="LogSegmentWriter.Close"/>). A retired segment
/// whose end frame, rename or index write fails stays pending with its backlog and is retried on every tick; a
/// failed index write leaves no temp file. So after any number of disk-full episodes ingest resumes
/// when space returns, and nothing acknowledged is lost or forgotten.
///
/// Backlog (sealed bytes not yet a block — or, with `s3`, not yet uploaded) is bounded by `wal::max_backlog_bytes`:
/// beyond it new requests are refused, retryable.
/// </summary>
internal sealed class TenantStore : IGroupCommitOwner<WalAppend>
{
    private readonly StoreContext _ctx;
    private readonly string _walDir;
    private readonly GroupCommitLog<WalAppend> _log;
    private readonly Channel<object> _cuts = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _crash = new();
    private readonly List<Retired> _retired = [];
    private readonly Task _cutLoop;
    private readonly WalFeed[] _feeds;
    private readonly QueueSegment[] _feedSegments;
    private readonly FailureLogPolicy _cutFailures = new();
    private SegmentIndexBuilder? _index;
    private DateTimeOffset _segmentOpenedAt;
    private long _segmentBacklog;

    /// <param name="feeds">The forwarders reading this tenant's WAL (docs/format.md §14.11); empty when none does.</param>
    /// <param name="forwardRecipients">The forwarders' keys, which every segment's key header is sealed to (with <paramref name="feeds"/>).</param>
    public TenantStore(StoreContext ctx, string tenant, ulong lastSeq, WalFeed[]? feeds = null, IReadOnlyList<IRecipient>? forwardRecipients = null)
    {
        _ctx = ctx;
        Tenant = tenant;
        _feeds = feeds ?? [];
        _feedSegments = new QueueSegment[_feeds.Length];
        _walDir = Path.Combine(ctx.Root, StoreFormat.WalDir, tenant);
        DirectorySync.EnsureDirectory(ctx.Root, _walDir, fsync: true);
        var settings = new GroupCommitSettings(_walDir, StoreFormat.WalExtension, ObjectKind.WalSegment, tenant, ctx.Recipients)
        {
            Fsync = ctx.Fsync,
            KeyRecipients = _feeds.Length > 0 ? forwardRecipients : null,
            SegmentBytes = Math.Min(ctx.Settings.Wal.SegmentBytes, ctx.Settings.Block.MaxBytes),
            MaxFrameBytes = StoreContext.MaxFrameBytes,
            SeqClock = ctx.Time,
        };
        _log = new GroupCommitLog<WalAppend>(settings, this, lastSeq + 1);
        _cutLoop = Task.Run(CutLoopAsync);
        _log.Start();
    }

    public string Tenant { get; }

    /// <summary>Frames written (group commits).</summary>
    public long Frames => _log.Frames;

    /// <summary>Requests acknowledged.</summary>
    public long Commits => _log.Appends;

    public long BacklogBytes => _log.BacklogBytes;

    /// <summary>The forwarders reading this tenant's WAL.</summary>
    public IReadOnlyList<WalFeed> Feeds => _feeds;

    /// <summary>True from a failed WAL commit or block cut until the next successful one (readiness reports it).</summary>
    public bool IsWriteFailing => _log.IsWriteFailing || _cutFailures.IsFailing;

    private long _lastBacklogRefusal = long.MinValue / 2;

    /// <summary>A backlog refusal within the last 5 s (readiness reports it; it clears by itself once requests fit again).</summary>
    public bool BacklogRefusedRecently => Environment.TickCount64 - Volatile.Read(ref _lastBacklogRefusal) < 5_000;

    public async ValueTask<SinkResult> AppendAsync(ReceivedBatch batch)
    {
        // A store no forwarder reads writes version 1 records, as before consumer lists existed (docs/format.md §14.12).
        byte[]? consumers = _feeds.Length > 0 ? batch.WalConsumers : null;
        long reserve = StoreFormat.RecordSize(batch.Payload.Length, consumers);
        if (!_log.TryReserve(reserve, _ctx.Settings.Wal.MaxBacklogBytes))
        {
            return RefuseBacklog();
        }

        // Every consumer of the log is bounded alike: a forwarder whose upstream is down holds back only its own
        // cursor, until what it has not forwarded reaches the limit; then clients are refused (retryable).
        foreach (var feed in _feeds)
        {
            if (feed.BacklogBytes + reserve > _ctx.Settings.Wal.MaxBacklogBytes)
            {
                _log.Release(reserve);
                return RefuseBacklog();
            }
        }

        // Receivers gather the index entries while validating. A caller that did not (a test, a future component)
        // gets them gathered here, on its own thread: a trace record without index entries would be pruned by
        // every indexed query, which is silent loss for readers.
        RequestIndex? own = null;
        var index = batch.Index;
        if (index is null && batch.Signal == OtlpSignal.Traces)
        {
            own = index = RequestIndex.Rent();
            var visitor = own.CreateVisitor();
            OtlpValidator.TryValidate(batch.Payload.Span, OtlpSignal.Traces, ref visitor, out _, out _);
        }

        try
        {
            // No copy: the receiver keeps Payload (and Index) valid until this call returns, and it returns only
            // once the loop has written (or refused) the request.
            var result = await _log.AppendAsync(new WalAppend((byte)batch.Signal, batch.Payload, consumers, reserve, index)).ConfigureAwait(false);
            return result switch
            {
                LogAppendResult.Durable => SinkResult.Ok,
                LogAppendResult.WriteFailed => SinkResult.Refuse(StoreContext.RetryAfter, "sealed store write failed"),
                _ => SinkResult.Refuse(StoreContext.RetryAfter, "sealed store is stopping"),
            };
        }
        finally
        {
            RequestIndex.Return(own);
        }
    }

    private SinkResult RefuseBacklog()
    {
        Volatile.Write(ref _lastBacklogRefusal, Environment.TickCount64);
        StorageLog.BacklogLimit(_ctx.Logger, Tenant, _ctx.Settings.Wal.MaxBacklogBytes);
        return SinkResult.Refuse(StoreContext.RetryAfter, "wal backlog limit reached");
    }

    /// <summary>Posts a control item and waits until the loop handled it.</summary>
    public async Task ControlAsync(WalItemKind kind)
    {
        var item = new WalControl(kind);
        if (_log.TryPost(item))
        {
            await item.Done.Task.ConfigureAwait(false);
        }
    }

    /// <summary>Graceful stop: commits what is queued, turns the live segment (and any retired one) into a block.</summary>
    public async Task StopAsync()
    {
        await _log.StopAsync().ConfigureAwait(false);
        await _cutLoop.ConfigureAwait(false);
    }

    /// <summary>Tests: stop as a crash would — no block cut, the segment is left as it is on disk.</summary>
    public async Task CrashAsync()
    {
        await _crash.CancelAsync().ConfigureAwait(false);
        await _log.CrashAsync().ConfigureAwait(false);
        try
        {
            await _cutLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    void IGroupCommitOwner<WalAppend>.Control(LogItem item)
    {
        var control = (WalControl)item;
        if (control.Kind == WalItemKind.Cut
            || (_log.Segment is not null && _ctx.Time.GetUtcNow() - _segmentOpenedAt >= _ctx.Settings.Block.MaxAge))
        {
            _log.RetireSegment();
        }

        if (control.Kind == WalItemKind.Tick)
        {
            // Retry pending cuts and run retention, off this loop; the tick does not wait for them.
            _cuts.Writer.TryWrite(TickSignal.Instance);
            control.Done.TrySetResult();
            return;
        }

        // Cut (tests, and a barrier): done once the cut loop has turned everything retired so far into blocks
        // (or failed to, and will retry at the next tick).
        var flush = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_cuts.Writer.TryWrite(flush))
        {
            control.Done.TrySetResult();
            return;
        }

        flush.Task.ContinueWith(_ => control.Done.TrySetResult(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    void IGroupCommitOwner<WalAppend>.Stopped(bool crashed) => _cuts.Writer.TryComplete();

    /// <summary>
    /// Turns retired segments into blocks, off the writer loop: a cut never delays an acknowledgement. Oldest
    /// first; a failure leaves the rest pending until the next tick (or flush) asks again.
    /// </summary>
    private async Task CutLoopAsync()
    {
        var reader = _cuts.Reader;
        var flushes = new List<TaskCompletionSource>();
        try
        {
            while (await reader.WaitToReadAsync(_crash.Token).ConfigureAwait(false))
            {
                bool tick = false;
                while (reader.TryRead(out var signal))
                {
                    switch (signal)
                    {
                        case Retired retired:
                            _retired.Add(retired);
                            break;
                        case TaskCompletionSource flush:
                            flushes.Add(flush);
                            break;
                        default:
                            tick = true;
                            break;
                    }
                }

                CutRetired();
                if (_log.IsWriteFailing && _retired.Count == 0)
                {
                    ProbeDisk();
                }

                if (tick && _ctx.Uploader is null)
                {
                    Retention.Sweep(_ctx, Tenant);
                }

                foreach (var flush in flushes)
                {
                    flush.TrySetResult();
                }

                flushes.Clear();
            }
        }
        finally
        {
            foreach (var flush in flushes)
            {
                flush.TrySetResult();
            }

            if (_crash.IsCancellationRequested)
            {
                foreach (var retired in _retired)
                {
                    retired.Segment.Dispose();
                }
            }
            else
            {
                // Graceful stop: one last attempt; what still fails stays in the WAL directory and is recovered
                // (as a .walseg) at the next start.
                CutRetired();
                foreach (var retired in _retired)
                {
                    retired.Segment.Dispose();
                }
            }

            _retired.Clear();
        }
    }

    void IGroupCommitOwner<WalAppend>.FrameCommitted(LogSegmentWriter segment, LogFrame frame, long frameBytes, ReadOnlySpan<WalAppend> batch)
    {
        int offsetInFrame = 0;
        foreach (var item in batch)
        {
            _index!.Add(item.Signal, frame.Index, frame.Offset, frame.SealedLength, offsetInFrame, item.Payload.Length, item.Index);
            offsetInFrame += item.RecordSize;
        }

        _segmentBacklog += frameBytes;
        for (int i = 0; i < _feeds.Length; i++)
        {
            // Durable now: the forwarders may read it (before the acknowledgement or after, it is the same frame).
            _feeds[i].Publish(_feedSegments[i], frame, frameBytes);
        }
    }

    void IGroupCommitOwner<WalAppend>.SegmentOpened(LogSegmentWriter segment)
    {
        if (_feeds.Length > 0)
        {
            AddToFeeds(segment);
        }

        _index = new SegmentIndexBuilder();
        _segmentOpenedAt = _ctx.Time.GetUtcNow();
        _segmentBacklog = 0;
    }

    /// <summary>
    /// A new segment, for the forwarders: its key header (docs/format.md §14.11) written atomically next to it before
    /// any frame of it is acknowledged, and a read handle that stays valid when the segment is renamed into blocks/.
    /// </summary>
    private void AddToFeeds(LogSegmentWriter segment)
    {
        string stem = Path.GetFileNameWithoutExtension(segment.Path);
        AtomicFile.Write(_walDir, stem + WalFeed.KeyHeaderExtension, segment.KeyHeader);
        var file = File.OpenHandle(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var shared = new ForwardedSegment(Path.Combine(_walDir, stem + WalFeed.KeyHeaderExtension), _feeds.Length, file, _ctx.Holds);
        string id = StoreFormat.BlockStemFromObjectId(segment.ObjectId);
        for (int i = 0; i < _feeds.Length; i++)
        {
            _feedSegments[i] = new QueueSegment(segment.Seq, id, segment.Path, keyHeader: segment.KeyHeader, sharedFile: file);
            _feeds[i].Add(_feedSegments[i], shared, 0);
        }
    }

    /// <summary>The live segment stops taking frames and goes to the cut loop to become a block.</summary>
    void IGroupCommitOwner<WalAppend>.SegmentRetired(LogSegmentWriter segment)
    {
        for (int i = 0; i < _feeds.Length; i++)
        {
            _feeds[i].Retire(_feedSegments[i]);
        }

        var retired = new Retired(segment, _index!, _segmentBacklog);
        if (!_cuts.Writer.TryWrite(retired))
        {
            // Stopping after a crash: the segment stays in the WAL directory for recovery.
            segment.Dispose();
        }

        _index = null;
        _segmentBacklog = 0;
    }

    // A full disk fails every commit: the first failure (and one every 30 s) at Error with the exception, the rest at
    // Debug, so a full disk cannot also flood the log (FailureLogPolicy).
    void IGroupCommitOwner<WalAppend>.WriteFailed(int appends, Exception exception) => StorageLog.WalWriteFailed(_ctx.Logger, Tenant, appends, exception);

    void IGroupCommitOwner<WalAppend>.WriteStillFailing(int appends) => StorageLog.WalWriteStillFailing(_ctx.Logger, Tenant, appends);

    void IGroupCommitOwner<WalAppend>.WriteRecovered() => StorageLog.WalWriteRecovered(_ctx.Logger, Tenant);

    /// <summary>
    /// Turns retired segments into blocks, oldest first: end frame (over a torn tail if the segment broke),
    /// rename into the hour bucket, sealed index next to it. Each step is idempotent, so a failure (a full disk)
    /// leaves the segment in the list with its backlog, and the next tick resumes where it stopped.
    /// </summary>
    private void CutRetired()
    {
        while (_retired.Count > 0)
        {
            var retired = _retired[0];
            try
            {
                retired.Segment.Close();
                if (retired.Segment.Length == 0)
                {
                    // Nothing durable was ever written to it (its first write failed; Close deleted it): nothing to
                    // keep, and no index (Frames counts the failed frame: it was sealed before its write failed).
                    _log.Release(retired.Backlog);
                }
                else
                {
                    MakeBlock(retired);
                }

                _retired.RemoveAt(0);
                if (_cutFailures.Succeeded())
                {
                    StorageLog.BlockWriteRecovered(_ctx.Logger, Tenant);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                if (_cutFailures.Failed(Environment.TickCount64))
                {
                    StorageLog.BlockWriteFailed(_ctx.Logger, Tenant, e);
                }

                return;
            }
        }
    }

    /// <summary>
    /// After failed writes, readiness must not wait for a request to succeed (a load balancer that reads /readyz
    /// sends none: that would latch). On each tick (once nothing waits to be cut) a probe writes, fsyncs and deletes one frame's worth of bytes
    /// in the WAL directory; when that succeeds the store reports healthy again (a real write that fails sets it back).
    /// </summary>
    private void ProbeDisk()
    {
        var probe = Path.Combine(_walDir, "probe" + StoreFormat.TempExtension);
        try
        {
            using (var file = AtomicFile.CreatePrivate(probe))
            {
                file.SetLength(ProbeBytes);
                file.Write(new byte[ProbeBytes]);
                file.Flush(flushToDisk: true);
            }

            _log.Writable();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Still failing; the next tick tries again.
        }
        finally
        {
            AtomicFile.TryDelete(probe);
        }
    }

    /// <summary>A group commit's worth of bytes: a disk that takes this takes the next frame.</summary>
    private const int ProbeBytes = StoreContext.MaxFrameBytes;

    private void MakeBlock(Retired retired)
    {
        var segment = retired.Segment;
        var stem = StoreFormat.BlockStemFromObjectId(segment.ObjectId);
        retired.BucketKey ??= StoreFormat.BucketKey(Tenant, _ctx.Time.GetUtcNow());
        var blockKey = $"{retired.BucketKey}/{stem}{StoreFormat.BlockExtension}";
        var indexKey = $"{retired.BucketKey}/{stem}{StoreFormat.IndexExtension}";
        var bucketDir = Path.Combine(_ctx.Root, retired.BucketKey.Replace('/', Path.DirectorySeparatorChar));
        var blockPath = Path.Combine(bucketDir, stem + StoreFormat.BlockExtension);

        // 1. The segment becomes the block: a rename, not a copy. A crash after it leaves a block without its
        //    index, which readers scan in full.
        if (!retired.Moved)
        {
            DirectorySync.EnsureDirectory(_ctx.Root, bucketDir, fsync: true);
            if (File.Exists(segment.Path))
            {
                File.Move(segment.Path, blockPath, overwrite: false);
                DirectorySync.Fsync(bucketDir);
                DirectorySync.Fsync(_walDir);
            }

            retired.Moved = true;
        }

        // 2. Its sealed index, then its summary (docs/format.md §15.1: what a query skips the block by), each one small
        //    object and one key agreement, written atomically; the summary last, so a summary implies its index.
        if (!retired.Indexed)
        {
            var index = retired.Built ??= retired.Index.Build(Convert.FromHexString(segment.ObjectId), segment.Length, segment.Frames);
            foreach (var (extension, plaintext) in new (string, Func<byte[]>)[]
                     {
                         (StoreFormat.IndexExtension, index.Encode),
                         (StoreFormat.SummaryExtension, () => BlockSummary.FromIndex(index, inputs: []).Encode()),
                     })
            {
                if (File.Exists(Path.Combine(bucketDir, stem + extension)))
                {
                    // An earlier attempt renamed it into place, then failed (its directory fsync): it is whole.
                    DirectorySync.Fsync(bucketDir);
                }
                else
                {
                    AtomicFile.Write(bucketDir, stem + extension, Sealer.Seal(plaintext(), ObjectKind.Index, Tenant, _ctx.Recipients));
                }
            }

            retired.Indexed = true;
            StorageLog.BlockWritten(_ctx.Logger, _ctx.Local.Describe(blockKey), retired.Index.RecordCount, segment.Length, 1);
        }

        if (_ctx.Uploader is { } uploader)
        {
            // The uploader puts block and index into the bucket, then deletes the local copies and releases
            // the backlog. If it is stopping, they stay local and go up at the next start.
            uploader.Enqueue(new PendingBlock(this, blockKey, indexKey, retired.Backlog));
            return;
        }

        _log.Release(retired.Backlog);
    }

    /// <summary>Called by the uploader (another thread) once a block and its index are in the bucket.</summary>
    internal void BlockUploaded(long backlogBytes) => _log.Release(backlogBytes);

    private sealed class TickSignal
    {
        public static readonly TickSignal Instance = new();
    }

    /// <summary>A segment that takes no more frames, on its way to becoming a block; each step done is remembered.</summary>
    private sealed class Retired(LogSegmentWriter segment, SegmentIndexBuilder index, long backlog)
    {
        public LogSegmentWriter Segment { get; } = segment;
        public SegmentIndexBuilder Index { get; } = index;
        public long Backlog { get; } = backlog;
        public string? BucketKey { get; set; }
        public bool Moved { get; set; }
        public bool Indexed { get; set; }

        /// <summary>The index, built once (building sorts the builder's trace ids in place): a retry writes the same one.</summary>
        public BlockIndex? Built { get; set; }
    }
}
