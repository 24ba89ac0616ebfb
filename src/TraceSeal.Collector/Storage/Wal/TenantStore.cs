using TraceSeal.Storage;
using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Threading.Channels;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage.Blocks;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Objects;

namespace TraceSeal.Collector.Storage.Wal;

/// <summary>
/// One tenant of the sealed store: a single writer loop owns the tenant's WAL segment and block buffer.
///
/// Group commit: appenders copy their request, enqueue it and wait. The loop takes every pending request
/// (up to <see cref="StoreContext.MaxFrameBytes"/>), seals them as ONE frame (one fresh file key, one ECDH
/// per recipient), writes `[u32 length][sealed]` with one positioned write, fsyncs (durability fsync),
/// then completes every waiter: an acknowledgement means sealed and durable. The same records go to the
/// in-memory block buffer; when it reaches `block::max_bytes` or `block::max_age` (or at stop) it is
/// sealed as a block + index, written atomically, and the WAL segments it covers are deleted.
/// With `s3` the sealed block and index are handed to the <see cref="BlockUploader"/> instead, and the
/// segments are deleted (and their backlog released) only once both objects are uploaded: an
/// acknowledgement never waits for S3, and the WAL stays the durable copy until S3 has one.
/// Backlog (bytes in the WAL not yet in a block) is bounded by `wal::max_backlog_bytes`: beyond it new
/// requests are refused, retryable — so failing uploads bound memory (pending blocks) and disk (WAL).
/// </summary>
internal sealed class TenantStore
{
    private readonly StoreContext _ctx;
    private readonly string _walDir;
    private readonly Channel<WalItem> _channel = Channel.CreateUnbounded<WalItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _crash = new();
    private readonly List<WalItem> _batch = [];
    private readonly BlockBuffer _block = new();
    private readonly List<string> _blockSegmentPaths = [];
    private readonly byte[] _lengthPrefix = new byte[StoreFormat.FrameLengthPrefix];
    private readonly ReadOnlyMemory<byte>[] _frameParts = new ReadOnlyMemory<byte>[2];
    private readonly Task _loop;
    private FileStream? _segment;
    private uint _segmentId;
    private ulong _segmentSeq;
    private uint _frameIndex;
    private long _segmentLength;
    private ulong _nextSeq;
    private long _backlog;
    private long _blockBacklog;
    private long _frames;
    private long _commits;

    public TenantStore(StoreContext ctx, string tenant, ulong lastSeq)
    {
        _ctx = ctx;
        Tenant = tenant;
        _walDir = Path.Combine(ctx.Root, StoreFormat.WalDir, tenant);
        DirectorySync.EnsureDirectory(ctx.Root, _walDir, fsync: true);
        _nextSeq = lastSeq + 1;
        _loop = Task.Run(RunAsync);
    }

    public string Tenant { get; }

    /// <summary>Frames written (group commits).</summary>
    public long Frames => Interlocked.Read(ref _frames);

    /// <summary>Requests acknowledged.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    public long BacklogBytes => Interlocked.Read(ref _backlog);

    /// <summary>True from a failed WAL commit until the next successful one (readiness reports it).</summary>
    public bool IsWriteFailing => _writeFailing;

    private const long FailureLogIntervalMs = 30_000;
    private volatile bool _writeFailing;
    private long _lastFailureLogged;

    public async ValueTask<SinkResult> AppendAsync(ReceivedBatch batch)
    {
        long reserve = StoreFormat.RecordHeaderSize + batch.Payload.Length;
        if (Interlocked.Add(ref _backlog, reserve) > _ctx.Settings.Wal.MaxBacklogBytes)
        {
            Interlocked.Add(ref _backlog, -reserve);
            StorageLog.BacklogLimit(_ctx.Logger, Tenant, _ctx.Settings.Wal.MaxBacklogBytes);
            return SinkResult.Refuse(StoreContext.RetryAfter, "wal backlog limit reached");
        }

        var buffer = ArrayPool<byte>.Shared.Rent(batch.Payload.Length);
        batch.Payload.Span.CopyTo(buffer);
        var item = new WalItem(WalItemKind.Append) { Signal = batch.Signal, Buffer = buffer, Length = batch.Payload.Length, Reserved = reserve };
        if (!_channel.Writer.TryWrite(item))
        {
            item.ReturnBuffer();
            Interlocked.Add(ref _backlog, -reserve);
            return SinkResult.Refuse(StoreContext.RetryAfter, "sealed store is stopping");
        }

        // Not cancellable once enqueued: the commit completes (or fails) the waiter either way.
        return await item.Done.Task.ConfigureAwait(false);
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

    /// <summary>Graceful stop: commits what is queued, cuts the last block, deletes the WAL it covers.</summary>
    public Task StopAsync()
    {
        _channel.Writer.TryComplete();
        return _loop;
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
                    bytes += StoreFormat.RecordHeaderSize + item.Length;
                }

                if (_batch.Count > 0)
                {
                    Commit();
                }

                if (control is not null)
                {
                    HandleControl(control);
                }
                else if (_block.Length >= _ctx.Settings.Block.MaxBytes)
                {
                    CutBlock();
                }
            }

            if (!_crash.IsCancellationRequested)
            {
                CutBlock();
            }
        }
        finally
        {
            _channel.Writer.TryComplete();
            _segment?.Dispose();
            _segment = null;
            while (reader.TryRead(out var left))
            {
                left.ReturnBuffer();
                left.Done.TrySetResult(SinkResult.Refuse(StoreContext.RetryAfter, "sealed store is stopping"));
            }

            _block.Dispose();
        }
    }

    private void HandleControl(WalItem control)
    {
        try
        {
            if (control.Kind == WalItemKind.Cut
                || (_block.FirstRecordAt is { } first && _ctx.Time.GetUtcNow() - first >= _ctx.Settings.Block.MaxAge))
            {
                CutBlock();
            }

            if (control.Kind == WalItemKind.Tick && _ctx.Uploader is null)
            {
                Retention.Sweep(_ctx, Tenant);
            }
        }
        finally
        {
            control.Done.TrySetResult(SinkResult.Ok);
        }
    }

    private void Commit()
    {
        int plainLength = StoreFormat.FrameHeaderSize;
        foreach (var item in _batch)
        {
            plainLength += StoreFormat.RecordHeaderSize + item.Length;
        }

        var plain = ArrayPool<byte>.Shared.Rent(plainLength);
        try
        {
            EnsureSegment();
            StoreFormat.WriteFrameHeader(plain, _segmentId, _segmentSeq, _frameIndex);
            int pos = StoreFormat.FrameHeaderSize;
            foreach (var item in _batch)
            {
                StoreFormat.WriteRecordHeader(plain.AsSpan(pos), (byte)item.Signal, item.Length);
                item.Buffer.AsSpan(0, item.Length).CopyTo(plain.AsSpan(pos + StoreFormat.RecordHeaderSize));
                pos += StoreFormat.RecordHeaderSize + item.Length;
            }

            var sealedFrame = Sealer.Seal(plain.AsSpan(0, plainLength), ObjectKind.WalSegment, Tenant, _ctx.Recipients);
            BinaryPrimitives.WriteUInt32BigEndian(_lengthPrefix, (uint)sealedFrame.Length);
            _frameParts[0] = _lengthPrefix;
            _frameParts[1] = sealedFrame;
            RandomAccess.Write(_segment!.SafeFileHandle, _frameParts, _segmentLength);
            _frameParts[1] = default;
            if (_ctx.Fsync)
            {
                RandomAccess.FlushToDisk(_segment.SafeFileHandle);
            }

            long frameBytes = StoreFormat.FrameLengthPrefix + sealedFrame.Length;
            _segmentLength += frameBytes;
            _frameIndex++;
            Interlocked.Increment(ref _frames);

            // Backlog counts WAL bytes: the reservations plus this frame's overhead.
            long reserved = 0;
            var now = _ctx.Time.GetUtcNow();
            foreach (var item in _batch)
            {
                reserved += item.Reserved;
                _block.Append(item.Signal, item.Buffer.AsSpan(0, item.Length), now);
            }

            long overhead = frameBytes - reserved;
            Interlocked.Add(ref _backlog, overhead);
            _blockBacklog += frameBytes;
            Interlocked.Add(ref _commits, _batch.Count);
            foreach (var item in _batch)
            {
                item.ReturnBuffer();
                item.Done.TrySetResult(SinkResult.Ok);
            }

            if (_writeFailing)
            {
                _writeFailing = false;
                StorageLog.WalWriteRecovered(_ctx.Logger, Tenant);
            }

            if (_segmentLength >= _ctx.Settings.Wal.SegmentBytes)
            {
                CloseSegment();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            // The segment may now end in a torn frame: never append after it. Nothing here was acknowledged.
            // A full disk fails every commit: log the first failure (and one every 30 s) at Error with the
            // exception, the rest at Debug, so a full disk cannot also flood the log.
            long now = Environment.TickCount64;
            if (!_writeFailing || now - _lastFailureLogged >= FailureLogIntervalMs)
            {
                StorageLog.WalWriteFailed(_ctx.Logger, Tenant, _batch.Count, e);
                _lastFailureLogged = now;
            }
            else
            {
                StorageLog.WalWriteStillFailing(_ctx.Logger, Tenant, _batch.Count);
            }

            _writeFailing = true;
            CloseSegment();
            foreach (var item in _batch)
            {
                Interlocked.Add(ref _backlog, -item.Reserved);
                item.ReturnBuffer();
                item.Done.TrySetResult(SinkResult.Refuse(StoreContext.RetryAfter, "sealed store write failed"));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(plain, clearArray: true);
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
        _segmentSeq = Math.Max(_nextSeq, (ulong)_ctx.Time.GetUtcNow().ToUnixTimeSeconds());
        _nextSeq = _segmentSeq + 1;
        _segmentId = BinaryPrimitives.ReadUInt32BigEndian(RandomNumberGenerator.GetBytes(StoreFormat.SegmentIdSize));
        var path = Path.Combine(_walDir, StoreFormat.SegmentFileName(_segmentSeq, _segmentId));
        _segment = AtomicFile.CreatePrivate(path);
        if (_ctx.Fsync)
        {
            DirectorySync.Fsync(_walDir);
        }

        _frameIndex = 0;
        _segmentLength = 0;
        _block.AddSegment(_segmentSeq, _segmentId);
        _blockSegmentPaths.Add(path);
    }

    private void CloseSegment()
    {
        _segment?.Dispose();
        _segment = null;
    }

    private void CutBlock()
    {
        CloseSegment();
        if (_block.RecordCount == 0)
        {
            // Segments without a committed record hold nothing that was acknowledged.
            DeleteSegments();
            return;
        }

        try
        {
            var sealedBlock = Sealer.Seal(_block.Plaintext, ObjectKind.Block, Tenant, _ctx.Recipients);
            var info = Sealer.ReadHeader(sealedBlock);
            var stem = StoreFormat.BlockStemFromObjectId(info.ObjectId);
            var index = _block.BuildIndex(Convert.FromHexString(info.ObjectId), sealedBlock.Length);
            var sealedIndex = Sealer.Seal(index.Encode(), ObjectKind.Index, Tenant, _ctx.Recipients);
            var folder = StoreFormat.BucketKey(Tenant, _ctx.Time.GetUtcNow());
            var blockKey = $"{folder}/{stem}{StoreFormat.BlockExtension}";
            var indexKey = $"{folder}/{stem}{StoreFormat.IndexExtension}";
            if (_ctx.Uploader is { } uploader)
            {
                // The uploader now owns the segments: it deletes them once both objects are in the bucket.
                uploader.Enqueue(new PendingBlock(this, blockKey, sealedBlock, indexKey, sealedIndex, [.. _blockSegmentPaths], _blockBacklog));
                StorageLog.BlockWritten(_ctx.Logger, blockKey, _block.RecordCount, sealedBlock.Length, _block.Segments.Count);
                _blockSegmentPaths.Clear();
                return;
            }

            // Block first, then its index: a crash in between leaves a block without index, which readers
            // scan in full. Only when both are durable are the WAL segments they cover deleted.
            _ctx.Local.Put(blockKey, sealedBlock);
            _ctx.Local.Put(indexKey, sealedIndex);
            StorageLog.BlockWritten(_ctx.Logger, _ctx.Local.Describe(blockKey), _block.RecordCount, sealedBlock.Length, _block.Segments.Count);
            DeleteSegments();
            Interlocked.Add(ref _backlog, -_blockBacklog);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            // The segments stay (and keep counting as backlog); the next start recovers them as .walseg.
            StorageLog.BlockWriteFailed(_ctx.Logger, Tenant, e);
            _blockSegmentPaths.Clear();
        }
        finally
        {
            _blockBacklog = 0;
            _block.Reset();
        }
    }

    /// <summary>
    /// Called by the uploader (another thread) once a block and its index are in the bucket: the WAL segments
    /// they cover are no longer needed. Safe next to the writer loop: these segments are closed and the loop
    /// never touches them again; the backlog is an interlocked counter.
    /// </summary>
    internal void SegmentsUploaded(IReadOnlyList<string> segmentPaths, long backlogBytes)
    {
        foreach (var path in segmentPaths)
        {
            File.Delete(path);
        }

        if (segmentPaths.Count > 0 && _ctx.Fsync)
        {
            DirectorySync.Fsync(_walDir);
        }

        Interlocked.Add(ref _backlog, -backlogBytes);
    }

    private void DeleteSegments()
    {
        foreach (var path in _blockSegmentPaths)
        {
            File.Delete(path);
        }

        if (_blockSegmentPaths.Count > 0 && _ctx.Fsync)
        {
            DirectorySync.Fsync(_walDir);
        }

        _blockSegmentPaths.Clear();
    }
}
