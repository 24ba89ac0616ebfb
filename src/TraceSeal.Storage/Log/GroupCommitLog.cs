using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using TraceSeal.Sealing;
using TraceSeal.Sealing.Files;
using TraceSeal.Storage.Format;

namespace TraceSeal.Storage.Log;

/// <summary>
/// The one group-commit writer of a sealed segment log (docs/format.md §14), shared by the sealed store's WAL (one per
/// tenant) and the forwarding exporters' sealed queues; the only code that opens a <see cref="LogSegmentWriter"/>.
/// <list type="bullet">
/// <item>Appenders enqueue a <see cref="LogAppend"/> (after reserving its backlog, <see cref="TryReserve"/>) and await
/// its completion. One loop takes every pending append, up to <see cref="GroupCommitSettings.MaxFrameBytes"/> (at least
/// one), stopping at the first control item; writes their records (§12.2 record layout, version 2 with a consumer list,
/// §14.12) into one staging buffer, sized once and pooled, cleared after every frame; and appends them as ONE frame:
/// one seal, one positioned write, one fsync.</item>
/// <item>Waiters complete ONLY after that fsync (<see cref="LogAppendResult.Durable"/>): an acknowledgement means sealed
/// and durable. The owner sees each durable frame first (<see cref="IGroupCommitOwner{TAppend}.FrameCommitted"/>: index
/// entries, publishing to readers).</item>
/// <item>A segment is opened lazily at the next commit, rolled once it reaches <see cref="GroupCommitSettings.SegmentBytes"/>,
/// and retired on a failed write: nothing of that batch is acknowledged (every waiter gets
/// <see cref="LogAppendResult.WriteFailed"/>, retryable), the segment (possibly ending in a torn frame) takes no more
/// frames, and the owner closes it (<see cref="LogSegmentWriter.Close"/>: its end frame over the torn bytes) when the
/// disk allows. The next commit opens a new segment, so ingest resumes by itself when space returns.</item>
/// <item>Failures are logged by the one policy (<see cref="FailureLogPolicy"/>) with the owner's messages.</item>
/// <item>Backlog: reservations (<see cref="TryReserve"/>) become the frame's sealed size once it is durable; refusals
/// release them; the owner releases the rest when its consumer is done with the bytes (<see cref="Release"/>).</item>
/// </list>
/// Threading: appends, control posts and backlog calls from any thread; every owner callback, <see cref="Segment"/> and
/// <see cref="RetireSegment"/> on the loop only. No copy of a payload unless the owner asks for one
/// (<see cref="LogAppend"/>); no allocation per frame; appenders wait on their own completion, with no thread hop
/// beyond the loop's.
/// </summary>
internal sealed class GroupCommitLog<TAppend>
    where TAppend : LogAppend
{
    private readonly GroupCommitSettings _settings;
    private readonly IGroupCommitOwner<TAppend> _owner;
    private readonly Channel<LogItem> _channel = Channel.CreateUnbounded<LogItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _crash = new();
    private readonly List<TAppend> _batch = [];
    private readonly FailureLogPolicy _failures = new();
    private byte[] _staging = [];
    private LogSegmentWriter? _segment;
    private ulong _nextSeq;
    private long _backlog;
    private long _frames;
    private long _appends;
    private Task _loop = Task.CompletedTask;

    /// <param name="firstSeq">The next segment's sequence number (one past the highest left by an earlier run).</param>
    /// <param name="backlog">Backlog bytes left by an earlier run (recovered segments not yet consumed).</param>
    public GroupCommitLog(GroupCommitSettings settings, IGroupCommitOwner<TAppend> owner, ulong firstSeq, long backlog = 0)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(owner);
        _settings = settings;
        _owner = owner;
        _nextSeq = firstSeq;
        _backlog = backlog;
    }

    /// <summary>Data frames written (group commits).</summary>
    public long Frames => Interlocked.Read(ref _frames);

    /// <summary>Appends acknowledged.</summary>
    public long Appends => Interlocked.Read(ref _appends);

    /// <summary>Reserved and written bytes the owner has not released.</summary>
    public long BacklogBytes => Interlocked.Read(ref _backlog);

    /// <summary>True from a failed write until the next successful one (or <see cref="Writable"/>).</summary>
    public bool IsWriteFailing => _failures.IsFailing;

    /// <summary>The live segment (loop thread only), or null until the next commit opens one.</summary>
    public LogSegmentWriter? Segment => _segment;

    /// <summary>Tests: the staging buffer, all zeros between frames (read it only while the loop is held in a callback).</summary>
    internal ReadOnlySpan<byte> Staging => _staging;

    /// <summary>Starts the loop; once, after the owner is ready for its callbacks.</summary>
    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Reserves <paramref name="bytes"/> of backlog; false (nothing reserved) when that would exceed <paramref name="limit"/>.</summary>
    public bool TryReserve(long bytes, long limit)
    {
        if (Interlocked.Add(ref _backlog, bytes) > limit)
        {
            Interlocked.Add(ref _backlog, -bytes);
            return false;
        }

        return true;
    }

    /// <summary>Bytes no longer held: written bytes a consumer is done with, or a reservation the owner gives up before appending.</summary>
    public void Release(long bytes) => Interlocked.Add(ref _backlog, -bytes);

    /// <summary>
    /// Enqueues <paramref name="append"/> (its <see cref="LogAppend.Reserved"/> bytes already reserved) and returns its
    /// completion: <see cref="LogAppendResult.Durable"/> once its frame is fsync'd; on a refusal its reservation is released.
    /// Not cancellable once enqueued.
    /// </summary>
    public Task<LogAppendResult> AppendAsync(TAppend append)
    {
        if (!_channel.Writer.TryWrite(append))
        {
            Abandon(append);
        }

        return append.Completion;
    }

    /// <summary>Posts an owner's control item: handed to <see cref="IGroupCommitOwner{TAppend}.Control"/> after the appends before it are committed. False once stopping.</summary>
    public bool TryPost(LogItem control) => _channel.Writer.TryWrite(control);

    /// <summary>Graceful stop: commits what is queued, retires the live segment, then <see cref="IGroupCommitOwner{TAppend}.Stopped"/>.</summary>
    public Task StopAsync()
    {
        _channel.Writer.TryComplete();
        return _loop;
    }

    /// <summary>Tests: stop as a crash would: the live segment is left on disk as it is (not retired, no end frame).</summary>
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

    /// <summary>The live segment takes no more frames; the owner takes it (<see cref="IGroupCommitOwner{TAppend}.SegmentRetired"/>). Loop thread only.</summary>
    public void RetireSegment()
    {
        if (_segment is not { } segment)
        {
            return;
        }

        _segment = null;
        _owner.SegmentRetired(segment);
    }

    /// <summary>A write elsewhere in the log's directory succeeded (a disk probe): no longer failing; logs the recovery if owed.</summary>
    public void Writable()
    {
        if (_failures.Succeeded())
        {
            _owner.WriteRecovered();
        }
    }

    private async Task RunAsync()
    {
        var reader = _channel.Reader;
        try
        {
            while (await WaitAsync(reader).ConfigureAwait(false))
            {
                LogItem? control = null;
                int bytes = 0;
                while (bytes < _settings.MaxFrameBytes && reader.TryRead(out var item))
                {
                    if (item is not TAppend append)
                    {
                        control = item;
                        break;
                    }

                    _batch.Add(append);
                    bytes += append.RecordSize;
                }

                if (_batch.Count > 0)
                {
                    Commit(bytes);
                }

                if (control is not null)
                {
                    _owner.Control(control);
                }

                _owner.Woken();
            }
        }
        finally
        {
            _channel.Writer.TryComplete();
            bool crashed = _crash.IsCancellationRequested;
            if (crashed)
            {
                _segment?.Dispose();
                _segment = null;
            }
            else
            {
                RetireSegment();
            }

            _owner.Stopped(crashed);
            while (reader.TryRead(out var left))
            {
                Abandon(left);
            }

            if (_staging.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_staging, clearArray: true);
                _staging = [];
            }
        }
    }

    /// <summary>
    /// Waits for items; with a <see cref="IGroupCommitOwner{TAppend}.WakeInterval"/>, returns after it regardless. False
    /// once stopped and drained. Without one (the WAL's case) it is the channel's own wait: no state machine of its own
    /// per frame, no allocation, no extra continuation on the acknowledgement path.
    /// </summary>
    private ValueTask<bool> WaitAsync(ChannelReader<LogItem> reader)
    {
        TimeSpan wake = _owner.WakeInterval;
        return wake == Timeout.InfiniteTimeSpan ? reader.WaitToReadAsync(_crash.Token) : WaitOrWakeAsync(reader, wake);
    }

    private async ValueTask<bool> WaitOrWakeAsync(ChannelReader<LogItem> reader, TimeSpan wake)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(_crash.Token);
        timer.CancelAfter(wake);
        try
        {
            return await reader.WaitToReadAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!_crash.IsCancellationRequested)
        {
            return true;
        }
    }

    private void Commit(int plainLength)
    {
        var batch = CollectionsMarshal.AsSpan(_batch);
        if (_staging.Length < plainLength)
        {
            // Sized once to the largest frame seen (at most MaxFrameBytes plus one append): no array per frame.
            if (_staging.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_staging, clearArray: true);
            }

            _staging = ArrayPool<byte>.Shared.Rent(Math.Max(plainLength, _settings.MaxFrameBytes));
        }

        try
        {
            int pos = 0;
            foreach (var item in batch)
            {
                int header = StoreFormat.WriteRecordHeader(_staging.AsSpan(pos), item.Signal, item.Payload.Length, item.Consumers);
                item.Payload.Span.CopyTo(_staging.AsSpan(pos + header));
                pos += header + item.Payload.Length;
            }

            var segment = EnsureSegment();
            long lengthBefore = segment.Length;
            var (index, offset, sealedLength) = segment.Append(_staging.AsSpan(0, plainLength));
            long frameBytes = segment.Length - lengthBefore;
            Interlocked.Increment(ref _frames);

            // Backlog counts sealed bytes: the reservations become this frame's size on disk (tags, prefix, and the
            // header with frame 0).
            long reserved = 0;
            foreach (var item in batch)
            {
                reserved += item.Reserved;
            }

            Interlocked.Add(ref _backlog, frameBytes - reserved);

            // Durable now: the owner may publish it (before the acknowledgement or after, it is the same frame).
            _owner.FrameCommitted(segment, new LogFrame(index, offset, sealedLength), frameBytes, batch);
            Interlocked.Add(ref _appends, batch.Length);
            foreach (var item in batch)
            {
                item.Complete(LogAppendResult.Durable);
            }

            if (_failures.Succeeded())
            {
                _owner.WriteRecovered();
            }

            if (segment.Length >= _settings.SegmentBytes)
            {
                RetireSegment();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            // Nothing of this batch was acknowledged. The segment may end in a torn frame: it takes no more frames,
            // and its owner writes the end frame over the torn bytes once the disk lets it.
            if (_failures.Failed(Environment.TickCount64))
            {
                _owner.WriteFailed(batch.Length, e);
            }
            else
            {
                _owner.WriteStillFailing(batch.Length);
            }

            RetireSegment();
            foreach (var item in batch)
            {
                Abandon(item, LogAppendResult.WriteFailed);
            }
        }
        finally
        {
            _staging.AsSpan(0, Math.Min(plainLength, _staging.Length)).Clear();
            _batch.Clear();
        }
    }

    private LogSegmentWriter EnsureSegment()
    {
        if (_segment is not null)
        {
            return _segment;
        }

        ulong seq = _nextSeq;
        if (_settings.SeqClock is { } clock)
        {
            // At least the current unix second (a time bucket, like the block directories): a restart with an empty
            // directory never reuses a sequence number.
            seq = Math.Max(seq, (ulong)clock.GetUtcNow().ToUnixTimeSeconds());
        }

        _nextSeq = seq + 1;
        var segment = new LogSegmentWriter(_settings.Directory, seq, _settings.Extension, _settings.Kind, _settings.Label, _settings.Recipients,
            _settings.Fsync, _settings.KeyRecipients);
        try
        {
            _owner.SegmentOpened(segment);
        }
        catch
        {
            segment.Dispose();
            AtomicFile.TryDelete(segment.Path);
            throw;
        }

        _segment = segment;
        if (_settings.Fsync)
        {
            DirectorySync.Fsync(_settings.Directory);
        }

        return segment;
    }

    private void Abandon(LogItem item, LogAppendResult result = LogAppendResult.Stopping)
    {
        if (item is LogAppend append)
        {
            Release(append.Reserved);
            append.Complete(result);
        }
        else
        {
            item.Abandon();
        }
    }
}

/// <summary>Where and how a <see cref="GroupCommitLog{TAppend}"/> writes its segments.</summary>
/// <param name="Directory">Segments are `DIRECTORY/SEQ-ID.EXT` (docs/format.md §14).</param>
/// <param name="Label">The segments' tenant label (a WAL's tenant, a queue's exporter id).</param>
internal sealed record GroupCommitSettings(string Directory, string Extension, ObjectKind Kind, string Label, IReadOnlyList<IRecipient> Recipients)
{
    /// <summary>Whether appends are fsync'd before they complete (tests and `durability: none` turn it off).</summary>
    public bool Fsync { get; init; } = true;

    /// <summary>Non-null: every segment also gets a key header for them (docs/format.md §14.11; a WAL read by forwarders).</summary>
    public IReadOnlyList<IRecipient>? KeyRecipients { get; init; }

    /// <summary>A segment is retired once it is at least this long.</summary>
    public long SegmentBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>One group commit seals at most this many plaintext bytes (at least one append).</summary>
    public int MaxFrameBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Non-null: sequence numbers are at least the current unix second (a WAL, whose directory may be emptied).</summary>
    public TimeProvider? SeqClock { get; init; }
}

/// <summary>What the owner of a <see cref="GroupCommitLog{TAppend}"/> decides; every call on its loop.</summary>
internal interface IGroupCommitOwner<TAppend>
    where TAppend : LogAppend
{
    /// <summary>A new segment, before its first frame is written: e.g. make it visible to readers. Throwing refuses the batch; the file is deleted.</summary>
    void SegmentOpened(LogSegmentWriter segment);

    /// <summary>A frame of <paramref name="batch"/> is durable, before its waiters complete: index it, publish it.</summary>
    void FrameCommitted(LogSegmentWriter segment, LogFrame frame, long frameBytes, ReadOnlySpan<TAppend> batch);

    /// <summary>The segment takes no more frames (rolled, failed, asked for, stopping): the owner now owns it (close, dispose).</summary>
    void SegmentRetired(LogSegmentWriter segment);

    /// <summary>An owner's control item (<see cref="GroupCommitLog{TAppend}.TryPost"/>), after the appends before it are committed.</summary>
    void Control(LogItem control);

    /// <summary>The loop wakes at least this often (e.g. to retry closing segments), else only for items.</summary>
    TimeSpan WakeInterval => Timeout.InfiniteTimeSpan;

    /// <summary>After every wake of the loop (items handled or <see cref="WakeInterval"/> passed).</summary>
    void Woken()
    {
    }

    /// <summary>The loop ends (the live segment retired first, unless <paramref name="crashed"/>); queued items are refused after this.</summary>
    void Stopped(bool crashed);

    /// <summary>A write failed: log at Error with the exception (the first failure, then one per 30 s).</summary>
    void WriteFailed(int appends, Exception exception);

    /// <summary>A write failed again within 30 s of the last Error: log at Debug.</summary>
    void WriteStillFailing(int appends);

    /// <summary>The first success after an Error was logged: log it once.</summary>
    void WriteRecovered();
}

/// <summary>What a group commit answers an append.</summary>
internal enum LogAppendResult
{
    /// <summary>Sealed, written and (with fsync) durable: it may be acknowledged.</summary>
    Durable,

    /// <summary>The write failed; nothing of the batch was acknowledged (retryable).</summary>
    WriteFailed,

    /// <summary>The log is stopping (retryable).</summary>
    Stopping,
}

/// <summary>An item on a group-commit log's channel: a <see cref="LogAppend"/>, or a control item of the owner's.</summary>
internal abstract class LogItem
{
    /// <summary>The log stopped before handling this item: complete whoever waits for it.</summary>
    protected internal virtual void Abandon()
    {
    }
}

/// <summary>
/// One record on its way into a group commit: one small allocation per request, never per span. Without
/// <c>copy</c> the payload is read in place (the caller keeps it valid until the completion); with it, it is copied
/// into a pooled buffer first (a caller that must let go of its buffer at its first await), returned cleared once
/// the append completes.
/// </summary>
internal class LogAppend : LogItem
{
    private readonly TaskCompletionSource<LogAppendResult> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[]? _copy;

    /// <param name="consumers">The record's consumer list (version 2 record, docs/format.md §14.12), or null for version 1.</param>
    /// <param name="reserved">Backlog bytes the caller reserved for it (<see cref="GroupCommitLog{TAppend}.TryReserve"/>).</param>
    public LogAppend(byte signal, ReadOnlyMemory<byte> payload, byte[]? consumers, long reserved, bool copy = false)
    {
        Signal = signal;
        Consumers = consumers;
        Reserved = reserved;
        if (copy)
        {
            _copy = ArrayPool<byte>.Shared.Rent(payload.Length);
            payload.Span.CopyTo(_copy);
            payload = _copy.AsMemory(0, payload.Length);
        }

        Payload = payload;
    }

    public byte Signal { get; }

    public ReadOnlyMemory<byte> Payload { get; }

    public byte[]? Consumers { get; }

    public long Reserved { get; }

    /// <summary>The record's size in a frame's plaintext: header (with the consumer list) and payload.</summary>
    public int RecordSize => StoreFormat.RecordSize(Payload.Length, Consumers);

    public Task<LogAppendResult> Completion => _done.Task;

    internal void Complete(LogAppendResult result)
    {
        if (_copy is not null)
        {
            ArrayPool<byte>.Shared.Return(_copy, clearArray: true);
            _copy = null;
        }

        _done.TrySetResult(result);
    }
}
