using TraceSeal.Storage;
using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage;
using TraceSeal.Otlp;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;

namespace TraceSeal.Collector.Exporters.Otlp.Queue;

/// <summary>
/// The sealed sending queue of one forwarding exporter (docs/format.md §13): segment files of frames
/// `[u32 BE length][sealed object, kind queue]` whose plaintext is the §12.2 frame (header + records), sealed
/// to the exporter's queue key only.
///
/// Group commit as in the sealed store's TenantStore: appenders copy their request, enqueue it and wait; one
/// writer loop seals every pending request as ONE frame, writes it with one positioned write, fsyncs, publishes
/// the new committed length and only then completes the waiters: an acknowledgement means sealed and durable.
/// Backlog (bytes not yet forwarded) is bounded by `max_backlog_bytes`; beyond it appends are refused, retryable.
/// The sender (<see cref="QueueSender"/>) reads committed frames in order and deletes segments it has finished.
/// </summary>
internal sealed class QueueLog : IAsyncDisposable
{
    public const string Extension = ".queue";
    public const string LockFileName = "queue.lock";

    /// <summary>Segments roll at this size, so that sent data is deleted in bounded steps during long outages.</summary>
    public const long DefaultSegmentBytes = 16L * 1024 * 1024;

    /// <summary>One group commit seals at most this much (as the sealed store's frames).</summary>
    private const int MaxFrameBytes = 4 * 1024 * 1024;

    private readonly Channel<QueueItem> _channel = Channel.CreateUnbounded<QueueItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<QueueItem> _batch = [];
    private readonly List<QueueSegment> _segments = [];
    private readonly Lock _segmentsLock = new();
    private readonly IRecipient[] _recipients;
    private readonly byte[] _lengthPrefix = new byte[StoreFormat.FrameLengthPrefix];
    private readonly ReadOnlyMemory<byte>[] _frameParts = new ReadOnlyMemory<byte>[2];
    private readonly FileStream _lock;
    private readonly ILogger _logger;
    private readonly string _exporter;
    private readonly long _segmentBytes;
    private Task _loop = Task.CompletedTask;
    private TaskCompletionSource _changed = NewSignal();
    private QueueSegment? _active;
    private FileStream? _activeStream;
    private uint _frameIndex;
    private long _activeLength;
    private ulong _nextSeq;
    private long _backlog;

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

    /// <summary>The sealed objects' tenant label: the exporter id, so frames cannot be moved between exporters' queues.</summary>
    public string Label { get; }

    public QueueKey Key { get; }

    public long MaxBacklogBytes { get; }

    /// <summary>Queued bytes (sealed frames) not yet forwarded, plus reservations of requests being committed.</summary>
    public long BacklogBytes => Interlocked.Read(ref _backlog);

    /// <summary>Where the sender starts: the persisted cursor, moved past segments that no longer exist.</summary>
    public QueueCursor StartCursor { get; private set; }

    /// <summary>Segments up to this sequence number were left by an earlier run: what is sent from them may be a duplicate.</summary>
    public ulong RecoveredThroughSeq { get; private set; }

    /// <summary>Completes at the next commit or segment close; take it before checking, then await it.</summary>
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
            log.Recover();
        }
        catch
        {
            log._lock.Dispose();
            throw;
        }

        log._loop = Task.Run(log.RunAsync);
        return log;
    }

    public async ValueTask<SinkResult> AppendAsync(ReceivedBatch batch)
    {
        long reserve = StoreFormat.RecordHeaderSize + batch.Payload.Length;
        if (Interlocked.Add(ref _backlog, reserve) > MaxBacklogBytes)
        {
            Interlocked.Add(ref _backlog, -reserve);
            return SinkResult.Refuse(OtlpForwardingExporter.ClientRetryAfter, OtlpForwardingExporter.QueueFullReason);
        }

        // The receiver reuses the payload buffer when this call returns: copy before the first await.
        byte[] buffer = ArrayPool<byte>.Shared.Rent(batch.Payload.Length);
        batch.Payload.Span.CopyTo(buffer);
        var item = new QueueItem { Signal = batch.Signal, Buffer = buffer, Length = batch.Payload.Length, Reserved = reserve };
        if (!_channel.Writer.TryWrite(item))
        {
            item.ReturnBuffer();
            Interlocked.Add(ref _backlog, -reserve);
            return SinkResult.Refuse(OtlpForwardingExporter.ClientRetryAfter, "sending queue is stopping");
        }

        // Not cancellable once enqueued: the commit completes (or fails) the waiter either way.
        return await item.Done.Task.ConfigureAwait(false);
    }

    /// <summary>The oldest segment, or null when the queue holds none.</summary>
    public QueueSegment? First()
    {
        lock (_segmentsLock)
        {
            return _segments.Count > 0 ? _segments[0] : null;
        }
    }

    /// <summary>The sender has forwarded everything in the live segment: close it so that it can be deleted (no-op if more was appended meanwhile).</summary>
    public void RequestClose(QueueSegment segment, long committed) =>
        _channel.Writer.TryWrite(new QueueItem { CloseSegment = segment, CloseAt = committed });

    /// <summary>Deletes a closed segment the sender has finished (sender thread only).</summary>
    public void Remove(QueueSegment segment)
    {
        lock (_segmentsLock)
        {
            _segments.Remove(segment);
        }

        File.Delete(segment.Path);
        DirectorySync.Fsync(Directory);
    }

    /// <summary>A forwarded (or dropped) frame no longer counts as backlog.</summary>
    public void Release(long frameBytes) => Interlocked.Add(ref _backlog, -frameBytes);

    /// <summary>Reads the sealed frame at <paramref name="offset"/>; null when the bytes up to <paramref name="end"/> do not hold a whole frame.</summary>
    public static byte[]? ReadFrame(SafeFileHandle file, long offset, long end)
    {
        if (end - offset < StoreFormat.FrameLengthPrefix)
        {
            return null;
        }

        Span<byte> prefix = stackalloc byte[StoreFormat.FrameLengthPrefix];
        if (RandomAccess.Read(file, prefix, offset) != prefix.Length)
        {
            return null;
        }

        uint length = BinaryPrimitives.ReadUInt32BigEndian(prefix);
        if (length == 0 || length > end - offset - StoreFormat.FrameLengthPrefix)
        {
            return null;
        }

        byte[] frame = new byte[length];
        int read = 0;
        while (read < frame.Length)
        {
            int n = RandomAccess.Read(file, frame.AsSpan(read), offset + StoreFormat.FrameLengthPrefix + read);
            if (n == 0)
            {
                return null;
            }

            read += n;
        }

        return frame;
    }

    /// <summary>Graceful stop: commits what is queued, closes the live segment (kept for the next start).</summary>
    public Task StopAsync()
    {
        _channel.Writer.TryComplete();
        return _loop;
    }

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

    private void Recover()
    {
        foreach (string temp in System.IO.Directory.GetFiles(Directory, "*" + StoreFormat.TempExtension))
        {
            File.Delete(temp);
        }

        QueueCursor cursor = QueueCursor.Read(Directory);
        string[] files = System.IO.Directory.GetFiles(Directory, "*" + Extension);
        Array.Sort(files, StringComparer.Ordinal);
        ulong maxSeq = cursor.Seq;
        long backlog = 0;
        bool cursorSegmentFound = false;
        foreach (string path in files)
        {
            if (!StoreFormat.TryParseSegmentStem(Path.GetFileNameWithoutExtension(path), out ulong seq, out uint id))
            {
                continue;
            }

            maxSeq = Math.Max(maxSeq, seq);
            long length = seq < cursor.Seq ? 0 : CutTornTail(path);
            if (length == 0)
            {
                // Fully forwarded before the last stop, or nothing committed: nothing to keep.
                File.Delete(path);
                continue;
            }

            var segment = new QueueSegment(seq, id, path);
            segment.Publish(length);
            segment.Close();
            _segments.Add(segment);
            backlog += length;
            if (seq == cursor.Seq)
            {
                cursorSegmentFound = true;
                backlog -= SkippedBytes(path, length, cursor.Frame);
            }
        }

        DirectorySync.Fsync(Directory);
        StartCursor = cursorSegmentFound || _segments.Count == 0 ? cursor : new QueueCursor(_segments[0].Seq, 0, 0);
        RecoveredThroughSeq = maxSeq;
        _nextSeq = maxSeq + 1;
        Interlocked.Exchange(ref _backlog, backlog);
    }

    /// <summary>Bytes of the first <paramref name="frames"/> frames (already forwarded).</summary>
    private static long SkippedBytes(string path, long length, uint frames)
    {
        using SafeFileHandle file = File.OpenHandle(path);
        long offset = 0;
        Span<byte> prefix = stackalloc byte[StoreFormat.FrameLengthPrefix];
        for (uint i = 0; i < frames && length - offset >= prefix.Length; i++)
        {
            RandomAccess.Read(file, prefix, offset);
            offset = Math.Min(length, offset + prefix.Length + BinaryPrimitives.ReadUInt32BigEndian(prefix));
        }

        return offset;
    }

    /// <summary>
    /// Only the last frame can be incomplete after a crash (each frame is one write, fsync'd before the
    /// acknowledgement), so it was never acknowledged: cut it when its length runs past the end or it does not
    /// open with the queue key. A frame that fails in the middle is kept; the sender reports and skips it.
    /// </summary>
    private long CutTornTail(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        long pos = 0;
        long good = 0;
        while (pos < bytes.Length)
        {
            if (bytes.Length - pos < StoreFormat.FrameLengthPrefix)
            {
                break;
            }

            uint length = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan((int)pos));
            if (length == 0 || length > bytes.Length - pos - StoreFormat.FrameLengthPrefix)
            {
                break;
            }

            long end = pos + StoreFormat.FrameLengthPrefix + length;
            if (end == bytes.Length && !Opens(bytes.AsSpan((int)pos + StoreFormat.FrameLengthPrefix, (int)length)))
            {
                break;
            }

            pos = end;
            good = end;
        }

        if (good < bytes.Length)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None);
            stream.SetLength(good);
            stream.Flush(flushToDisk: true);
            ExporterLog.QueueTornTailCut(_logger, _exporter, path, bytes.Length - good, good);
        }

        return good;
    }

    private bool Opens(ReadOnlySpan<byte> frame)
    {
        try
        {
            byte[] plain = Sealer.Open(frame, [Key.Identity], out _);
            CryptographicOperations.ZeroMemory(plain);
            return true;
        }
        catch (Exception e) when (e is SealedIntegrityException or NoIdentityMatchException or CryptographicException)
        {
            return false;
        }
    }

    private async Task RunAsync()
    {
        var reader = _channel.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                QueueItem? control = null;
                int bytes = 0;
                while (bytes < MaxFrameBytes && reader.TryRead(out var item))
                {
                    if (item.CloseSegment is not null)
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

                if (control is not null && ReferenceEquals(control.CloseSegment, _active) && control.CloseAt == _activeLength)
                {
                    CloseActive();
                }
            }
        }
        finally
        {
            CloseActive();
            while (reader.TryRead(out var left))
            {
                left.ReturnBuffer();
                left.Done.TrySetResult(SinkResult.Refuse(OtlpForwardingExporter.ClientRetryAfter, "sending queue is stopping"));
            }
        }
    }

    private void Commit()
    {
        int plainLength = StoreFormat.FrameHeaderSize;
        foreach (var item in _batch)
        {
            plainLength += StoreFormat.RecordHeaderSize + item.Length;
        }

        byte[] plain = ArrayPool<byte>.Shared.Rent(plainLength);
        try
        {
            EnsureSegment();
            StoreFormat.WriteFrameHeader(plain, _active!.Id, _active.Seq, _frameIndex);
            int pos = StoreFormat.FrameHeaderSize;
            foreach (var item in _batch)
            {
                StoreFormat.WriteRecordHeader(plain.AsSpan(pos), (byte)item.Signal, item.Length);
                item.Buffer.AsSpan(0, item.Length).CopyTo(plain.AsSpan(pos + StoreFormat.RecordHeaderSize));
                pos += StoreFormat.RecordHeaderSize + item.Length;
            }

            byte[] sealedFrame = Sealer.Seal(plain.AsSpan(0, plainLength), ObjectKind.Queue, Label, _recipients);
            BinaryPrimitives.WriteUInt32BigEndian(_lengthPrefix, (uint)sealedFrame.Length);
            _frameParts[0] = _lengthPrefix;
            _frameParts[1] = sealedFrame;
            RandomAccess.Write(_activeStream!.SafeFileHandle, _frameParts, _activeLength);
            _frameParts[1] = default;
            RandomAccess.FlushToDisk(_activeStream.SafeFileHandle);

            long frameBytes = StoreFormat.FrameLengthPrefix + sealedFrame.Length;
            _activeLength += frameBytes;
            _frameIndex++;
            long reserved = 0;
            foreach (var item in _batch)
            {
                reserved += item.Reserved;
            }

            // Backlog counts queue bytes: the reservations become this frame's real size.
            Interlocked.Add(ref _backlog, frameBytes - reserved);
            _active.Publish(_activeLength);
            foreach (var item in _batch)
            {
                item.ReturnBuffer();
                item.Done.TrySetResult(SinkResult.Ok);
            }

            if (_activeLength >= _segmentBytes)
            {
                CloseActive();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            // The segment may now end in a torn frame: never append after it. Nothing here was acknowledged.
            ExporterLog.QueueWriteFailed(_logger, _exporter, _batch.Count, e);
            CloseActive();
            foreach (var item in _batch)
            {
                Interlocked.Add(ref _backlog, -item.Reserved);
                item.ReturnBuffer();
                item.Done.TrySetResult(SinkResult.Refuse(OtlpForwardingExporter.ClientRetryAfter, "sending queue write failed"));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(plain, clearArray: true);
            _batch.Clear();
            Signal();
        }
    }

    private void EnsureSegment()
    {
        if (_active is not null)
        {
            return;
        }

        ulong seq = _nextSeq++;
        uint id = BinaryPrimitives.ReadUInt32BigEndian(RandomNumberGenerator.GetBytes(StoreFormat.SegmentIdSize));
        string path = Path.Combine(Directory, Path.ChangeExtension(StoreFormat.SegmentFileName(seq, id), Extension));
        _activeStream = AtomicFile.CreatePrivate(path);
        DirectorySync.Fsync(Directory);
        _active = new QueueSegment(seq, id, path);
        _frameIndex = 0;
        _activeLength = 0;
        lock (_segmentsLock)
        {
            _segments.Add(_active);
        }
    }

    private void CloseActive()
    {
        _activeStream?.Dispose();
        _activeStream = null;
        if (_active is not null)
        {
            _active.Close();
            _active = null;
            Signal();
        }
    }

    /// <summary>A copied request on its way into a group commit, or (with <see cref="CloseSegment"/>) a close request from the sender.</summary>
    private sealed class QueueItem
    {
        public OtlpSignal Signal { get; init; }

        /// <summary>Rented from <see cref="ArrayPool{T}.Shared"/>; returned cleared.</summary>
        public byte[]? Buffer { get; init; }

        public int Length { get; init; }

        public long Reserved { get; init; }

        public QueueSegment? CloseSegment { get; init; }

        public long CloseAt { get; init; }

        public TaskCompletionSource<SinkResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void ReturnBuffer()
        {
            if (Buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(Buffer, clearArray: true);
            }
        }
    }
}
