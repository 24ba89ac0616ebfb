using System.Buffers;
using System.Security.Cryptography;
using System.Threading.Channels;
using TraceSeal.Collector.Exporters.Otlp.Queue;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage.Blocks;
using TraceSeal.Collector.Storage.Index;
using TraceSeal.Otlp;
using TraceSeal.Sealing;
using TraceSeal.Storage;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;

namespace TraceSeal.Collector.Storage.Wal;

/// <summary>
/// One tenant of the sealed store: a single writer loop owns the tenant's live log segment (docs/format.md §14).
///
/// Write once. Appenders enqueue their request (no copy: the receiver's buffer stays valid until the
/// acknowledgement) and wait. The loop takes every pending request (up to <see cref="StoreContext.MaxFrameBytes"/>),
/// writes their records into one staging buffer, and <see cref="LogSegmentWriter.Append"/> seals them as one
/// frame under the segment's key (one key agreement per segment, not per frame), writes it with one positioned
/// write and fsyncs; then every waiter is acknowledged. That write is the only time the bytes are sealed or
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
internal sealed class TenantStore
{
    private readonly StoreContext _ctx;
    private readonly string _walDir;
    private readonly Channel<WalItem> _channel = Channel.CreateUnbounded<WalItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _crash = new();
    private readonly List<WalItem> _batch = [];
    private readonly Channel<object> _cuts = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<Retired> _retired = [];
    private readonly Task _loop;
    private readonly Task _cutLoop;
    private readonly WalFeed[] _feeds;
    private readonly QueueSegment[] _feedSegments;
    private readonly IReadOnlyList<IRecipient>? _forwardRecipients;
    private byte[] _staging = [];
    private LogSegmentWriter? _segment;
    private SegmentIndexBuilder? _index;
    private DateTimeOffset _segmentOpenedAt;
    private long _segmentBacklog;
    private ulong _nextSeq;
    private long _backlog;
    private long _frames;
    private long _commits;

    /// <param name="feeds">The forwarders reading this tenant's WAL (docs/format.md §14.11); empty when none does.</param>
    /// <param name="forwardRecipients">The forwarders' keys, which every segment's key header is sealed to (with <paramref name="feeds"/>).</param>
    public TenantStore(StoreContext ctx, string tenant, ulong lastSeq, WalFeed[]? feeds = null, IReadOnlyList<IRecipient>? forwardRecipients = null)
    {
        _ctx = ctx;
        Tenant = tenant;
        _feeds = feeds ?? [];
        _feedSegments = new QueueSegment[_feeds.Length];
        _forwardRecipients = forwardRecipients;
        _walDir = Path.Combine(ctx.Root, StoreFormat.WalDir, tenant);
        DirectorySync.EnsureDirectory(ctx.Root, _walDir, fsync: true);
        _nextSeq = lastSeq + 1;
        _cutLoop = Task.Run(CutLoopAsync);
        _loop = Task.Run(RunAsync);
    }

    public string Tenant { get; }

    /// <summary>Frames written (group commits).</summary>
    public long Frames => Interlocked.Read(ref _frames);

    /// <summary>Requests acknowledged.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    public long BacklogBytes => Interlocked.Read(ref _backlog);

    /// <summary>The forwarders reading this tenant's WAL.</summary>
    public IReadOnlyList<WalFeed> Feeds => _feeds;

    /// <summary>True from a failed WAL commit or block cut until the next successful one (readiness reports it).</summary>
    public bool IsWriteFailing => _writeFailing || _cutFailing;

    private const long FailureLogIntervalMs = 30_000;
    private volatile bool _writeFailing;
    private volatile bool _cutFailing;
    // When the last failure was logged at Error (0 = never), and whether its "succeed again" line is still owed. The
    // Error line is limited to one per FailureLogIntervalMs across recoveries, so a disk that keeps filling and freeing
    // logs one Error (and one recovery) per interval, not one per flip; the recovery is logged only after an Error was.
    private long _lastFailureLogged;
    private long _lastCutFailureLogged;
    private bool _writeRecoveryOwed;
    private bool _cutRecoveryOwed;

    private long _lastBacklogRefusal = long.MinValue / 2;

    /// <summary>A backlog refusal within the last 5 s (readiness reports it; it clears by itself once requests fit again).</summary>
    public bool BacklogRefusedRecently => Environment.TickCount64 - Volatile.Read(ref _lastBacklogRefusal) < 5_000;

    private long SegmentLimit => Math.Min(_ctx.Settings.Wal.SegmentBytes, _ctx.Settings.Block.MaxBytes);

    public async ValueTask<SinkResult> AppendAsync(ReceivedBatch batch)
    {
        // A store no forwarder reads writes version 1 records, as before consumer lists existed (docs/format.md §14.12).
        byte[]? consumers = _feeds.Length > 0 ? batch.WalConsumers : null;
        long reserve = StoreFormat.RecordSize(batch.Payload.Length, consumers);
        if (Interlocked.Add(ref _backlog, reserve) > _ctx.Settings.Wal.MaxBacklogBytes)
        {
            Interlocked.Add(ref _backlog, -reserve);
            Volatile.Write(ref _lastBacklogRefusal, Environment.TickCount64);
            StorageLog.BacklogLimit(_ctx.Logger, Tenant, _ctx.Settings.Wal.MaxBacklogBytes);
            return SinkResult.Refuse(StoreContext.RetryAfter, "wal backlog limit reached");
        }

        // Every consumer of the log is bounded alike: a forwarder whose upstream is down holds back only its own
        // cursor, until what it has not forwarded reaches the limit; then clients are refused (retryable).
        foreach (var feed in _feeds)
        {
            if (feed.BacklogBytes + reserve > _ctx.Settings.Wal.MaxBacklogBytes)
            {
                Interlocked.Add(ref _backlog, -reserve);
                Volatile.Write(ref _lastBacklogRefusal, Environment.TickCount64);
                StorageLog.BacklogLimit(_ctx.Logger, Tenant, _ctx.Settings.Wal.MaxBacklogBytes);
                return SinkResult.Refuse(StoreContext.RetryAfter, "wal backlog limit reached");
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
            var item = new WalItem(WalItemKind.Append) { Signal = batch.Signal, Payload = batch.Payload, Index = index, Consumers = consumers, Reserved = reserve };
            if (!_channel.Writer.TryWrite(item))
            {
                Interlocked.Add(ref _backlog, -reserve);
                return SinkResult.Refuse(StoreContext.RetryAfter, "sealed store is stopping");
            }

            // Not cancellable once enqueued: the commit completes (or fails) the waiter either way.
            return await item.Done.Task.ConfigureAwait(false);
        }
        finally
        {
            RequestIndex.Return(own);
        }
    }

    /// <summary>Posts a control item and waits until the loop handled it.</summary>
    public async Task ControlAsync(WalItemKind kind)
    {
        var item = new WalItem(kind);
        if (_channel.Writer.TryWrite(item))
        {
            await item.Done.Task.ConfigureAwait(false);
        }
    }

    /// <summary>Graceful stop: commits what is queued, turns the live segment (and any retired one) into a block.</summary>
    public async Task StopAsync()
    {
        _channel.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        await _cutLoop.ConfigureAwait(false);
    }

    /// <summary>Tests: stop as a crash would — no block cut, the segment is left as it is on disk.</summary>
    public async Task CrashAsync()
    {
        await _crash.CancelAsync().ConfigureAwait(false);
        _channel.Writer.TryComplete();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        try
        {
            await _cutLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RunAsync()
    {
        var reader = _channel.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_crash.Token).ConfigureAwait(false))
            {
                WalItem? control = null;
                int bytes = 0;
                while (bytes < StoreContext.MaxFrameBytes && reader.TryRead(out var item))
                {
                    if (item.Kind != WalItemKind.Append)
                    {
                        control = item;
                        break;
                    }

                    _batch.Add(item);
                    bytes += StoreFormat.RecordSize(item.Payload.Length, item.Consumers);
                }

                if (_batch.Count > 0)
                {
                    Commit();
                }

                if (control is not null)
                {
                    HandleControl(control);
                }
            }

            if (!_crash.IsCancellationRequested)
            {
                RetireSegment();
            }
        }
        finally
        {
            _channel.Writer.TryComplete();
            _cuts.Writer.TryComplete();
            if (_crash.IsCancellationRequested)
            {
                _segment?.Dispose();
            }

            _segment = null;
            while (reader.TryRead(out var left))
            {
                left.Done.TrySetResult(SinkResult.Refuse(StoreContext.RetryAfter, "sealed store is stopping"));
            }

            if (_staging.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_staging, clearArray: true);
                _staging = [];
            }
        }
    }

    private void HandleControl(WalItem control)
    {
        if (control.Kind == WalItemKind.Cut
            || (_segment is not null && _ctx.Time.GetUtcNow() - _segmentOpenedAt >= _ctx.Settings.Block.MaxAge))
        {
            RetireSegment();
        }

        if (control.Kind == WalItemKind.Tick)
        {
            // Retry pending cuts and run retention, off this loop; the tick does not wait for them.
            _cuts.Writer.TryWrite(TickSignal.Instance);
            control.Done.TrySetResult(SinkResult.Ok);
            return;
        }

        // Cut (tests, and a barrier): done once the cut loop has turned everything retired so far into blocks
        // (or failed to, and will retry at the next tick).
        var flush = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_cuts.Writer.TryWrite(flush))
        {
            control.Done.TrySetResult(SinkResult.Ok);
            return;
        }

        flush.Task.ContinueWith(_ => control.Done.TrySetResult(SinkResult.Ok), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

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
                if (_writeFailing && _retired.Count == 0)
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

    private void Commit()
    {
        int plainLength = 0;
        foreach (var item in _batch)
        {
            plainLength += StoreFormat.RecordSize(item.Payload.Length, item.Consumers);
        }

        if (_staging.Length < plainLength)
        {
            // Sized once to the largest frame seen (at most MaxFrameBytes plus one request): no array per frame.
            if (_staging.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_staging, clearArray: true);
            }

            _staging = ArrayPool<byte>.Shared.Rent(Math.Max(plainLength, StoreContext.MaxFrameBytes));
        }

        try
        {
            int pos = 0;
            foreach (var item in _batch)
            {
                int header = StoreFormat.WriteRecordHeader(_staging.AsSpan(pos), (byte)item.Signal, item.Payload.Length, item.Consumers);
                item.Payload.Span.CopyTo(_staging.AsSpan(pos + header));
                pos += header + item.Payload.Length;
            }

            EnsureSegment();
            long lengthBefore = _segment!.Length;
            var (frameIndex, frameOffset, sealedLength) = _segment.Append(_staging.AsSpan(0, plainLength));
            long frameBytes = _segment.Length - lengthBefore;
            Interlocked.Increment(ref _frames);

            // Backlog counts sealed bytes: the reservations plus this frame's overhead (tags, header, prefix).
            long reserved = 0;
            int offsetInFrame = 0;
            foreach (var item in _batch)
            {
                reserved += item.Reserved;
                _index!.Add((byte)item.Signal, frameIndex, frameOffset, sealedLength, offsetInFrame, item.Payload.Length, item.Index);
                offsetInFrame += StoreFormat.RecordSize(item.Payload.Length, item.Consumers);
            }

            Interlocked.Add(ref _backlog, frameBytes - reserved);
            _segmentBacklog += frameBytes;
            for (int i = 0; i < _feeds.Length; i++)
            {
                // Durable now: the forwarders may read it (before the acknowledgement or after, it is the same frame).
                _feeds[i].Publish(_feedSegments[i], new LogFrame(frameIndex, frameOffset, sealedLength), frameBytes);
            }

            Interlocked.Add(ref _commits, _batch.Count);
            foreach (var item in _batch)
            {
                item.Done.TrySetResult(SinkResult.Ok);
            }

            if (_writeFailing)
            {
                _writeFailing = false;
                LogWriteRecovered();
            }

            if (_segment.Length >= SegmentLimit)
            {
                RetireSegment();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            // Nothing of this batch was acknowledged. The segment may end in a torn frame: it takes no more
            // frames, and its end frame goes over the torn bytes once the disk lets it (CutRetired).
            // A full disk fails every commit: log the first failure (and one every 30 s) at Error with the
            // exception, the rest at Debug, so a full disk cannot also flood the log.
            long now = Environment.TickCount64;
            if (_lastFailureLogged == 0 || now - _lastFailureLogged >= FailureLogIntervalMs)
            {
                StorageLog.WalWriteFailed(_ctx.Logger, Tenant, _batch.Count, e);
                _lastFailureLogged = now;
                _writeRecoveryOwed = true;
            }
            else
            {
                StorageLog.WalWriteStillFailing(_ctx.Logger, Tenant, _batch.Count);
            }

            _writeFailing = true;
            RetireSegment();
            foreach (var item in _batch)
            {
                Interlocked.Add(ref _backlog, -item.Reserved);
                item.Done.TrySetResult(SinkResult.Refuse(StoreContext.RetryAfter, "sealed store write failed"));
            }
        }
        finally
        {
            _staging.AsSpan(0, Math.Min(plainLength, _staging.Length)).Clear();
            _batch.Clear();
        }
    }

    private void EnsureSegment()
    {
        if (_segment is not null)
        {
            return;
        }

        // Sequence numbers only grow, across restarts too: at least the current unix second (a time bucket,
        // like the block directories), so a restart with an empty WAL directory never reuses one.
        ulong seq = Math.Max(_nextSeq, (ulong)_ctx.Time.GetUtcNow().ToUnixTimeSeconds());
        _nextSeq = seq + 1;
        var segment = new LogSegmentWriter(_walDir, seq, StoreFormat.WalExtension, ObjectKind.WalSegment, Tenant, _ctx.Recipients, _ctx.Fsync,
            _feeds.Length > 0 ? _forwardRecipients : null);
        if (_feeds.Length > 0)
        {
            try
            {
                AddToFeeds(segment);
            }
            catch
            {
                segment.Dispose();
                AtomicFile.TryDelete(segment.Path);
                throw;
            }
        }

        _segment = segment;
        if (_ctx.Fsync)
        {
            DirectorySync.Fsync(_walDir);
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
    private void RetireSegment()
    {
        if (_segment is null)
        {
            return;
        }

        for (int i = 0; i < _feeds.Length; i++)
        {
            _feeds[i].Retire(_feedSegments[i]);
        }

        var retired = new Retired(_segment, _index!, _segmentBacklog);
        if (!_cuts.Writer.TryWrite(retired))
        {
            // Stopping after a crash: the segment stays in the WAL directory for recovery.
            _segment.Dispose();
        }

        _segment = null;
        _index = null;
        _segmentBacklog = 0;
    }

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
                    Interlocked.Add(ref _backlog, -retired.Backlog);
                }
                else
                {
                    MakeBlock(retired);
                }

                _retired.RemoveAt(0);
                if (_cutFailing)
                {
                    _cutFailing = false;
                    if (_cutRecoveryOwed)
                    {
                        _cutRecoveryOwed = false;
                        StorageLog.BlockWriteRecovered(_ctx.Logger, Tenant);
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                long now = Environment.TickCount64;
                if (_lastCutFailureLogged == 0 || now - _lastCutFailureLogged >= FailureLogIntervalMs)
                {
                    StorageLog.BlockWriteFailed(_ctx.Logger, Tenant, e);
                    _lastCutFailureLogged = now;
                    _cutRecoveryOwed = true;
                }

                _cutFailing = true;
                return;
            }
        }
    }

    private void LogWriteRecovered()
    {
        if (_writeRecoveryOwed)
        {
            _writeRecoveryOwed = false;
            StorageLog.WalWriteRecovered(_ctx.Logger, Tenant);
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

            _writeFailing = false;
            LogWriteRecovered();
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

        Interlocked.Add(ref _backlog, -retired.Backlog);
    }

    /// <summary>Called by the uploader (another thread) once a block and its index are in the bucket.</summary>
    internal void BlockUploaded(long backlogBytes) => Interlocked.Add(ref _backlog, -backlogBytes);

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
