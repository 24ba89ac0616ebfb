using System.Buffers;
using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Processors.Batch;
using TraceSeal.Otlp;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;

namespace TraceSeal.Collector.Exporters.Otlp.Queue;

/// <summary>
/// Forwards one upstream request: one queued record, or <paramref name="records"/> consecutive records of one signal
/// merged. Returns once upstream accepted it or refused it permanently (it retries meanwhile). Returns false only for
/// a merged request (<paramref name="records"/> &gt; 1) refused permanently: nothing was dropped or counted, and the
/// sender resends its records one by one so that only the one upstream refuses is dropped. A single record refused
/// permanently is dropped, logged and counted by the delivery, which returns true.
/// </summary>
internal delegate Task<bool> QueueDelivery(OtlpSignal signal, ReadOnlyMemory<byte> payload, int items, int records, CancellationToken stop);

/// <summary>
/// How the sender merges consecutive queued records of one signal into one upstream request (from the `batch`
/// processor of the pipelines feeding the exporter; see <see cref="From"/>).
/// </summary>
/// <param name="MaxItems">A merged request holds at most this many items: send_batch_size, or send_batch_max_size when smaller.</param>
/// <param name="Timeout">The sender stops gathering and sends once this long has passed since the first record of the request (0 = no bound).</param>
internal readonly record struct QueueBatching(int MaxItems, TimeSpan Timeout)
{
    /// <summary>Null (one record per request) without a `batch` processor.</summary>
    public static QueueBatching? From(BatchSettings? settings) => settings is null
        ? null
        : new QueueBatching(
            Math.Max(1, settings.SendBatchMaxSize > 0 ? Math.Min(settings.SendBatchSize, settings.SendBatchMaxSize) : settings.SendBatchSize),
            settings.Timeout);
}

/// <summary>
/// The background sender of an <see cref="ISenderLog"/> (its own <see cref="QueueLog"/>, or a sealed store's WAL): reads
/// published frames in order, opens each with the queue identity — a segment's header is verified once
/// (<see cref="SealedLogReader"/>, kept while the segment is read), then every frame by its index — and forwards its
/// records. Every segment must carry kind queue, the exporter's label and the id of its file name; a frame that does
/// not open is reported with its code and skipped. With <paramref name="batching"/>, consecutive records of one signal
/// that are already queued are merged into one request (protobuf concatenation of Export*ServiceRequest messages
/// appends their repeated resource_* field: the result is one valid request holding both), bounded by items, by
/// <see cref="MaxRequestBytes"/> and by the batch timeout; the sender never waits for more data than is ready.
/// <para>
/// <b>The window.</b> Up to <paramref name="consumers"/> requests (num_consumers) are in flight at once, in log order;
/// when <paramref name="consumerSlots"/> is given (the exporter's num_consumers semaphore, shared by all of its
/// senders: one per tenant of a WAL) a request also holds one of its slots while it is sent, so the exporter as a
/// whole never has more than num_consumers requests upstream. Each request retries on its own (the exporter's retry
/// table and backoff). The cursor moves only over the contiguous prefix of completed requests: a request that
/// completes while an earlier one still retries waits in the window, so the persisted position never passes an
/// unacknowledged record, and a crash or stop resends at most the window (at-least-once). Upstream may therefore
/// receive requests out of log order, as with upstream's own sending_queue consumers. A full request (by items or
/// bytes, or each record without batching) goes out as soon as a slot is free; a partial one only when nothing is
/// in flight (or its segment is finished), so that under light load requests stay as large as they were with one
/// in flight. A segment is finished (deleted, or passed for a WAL) only once the cursor has passed all of it.
/// </para>
/// <para>
/// After each advance the cursor is written once (past every record of the completed prefix); finished segments are
/// deleted. The plaintext of a frame lives while its records are gathered and in the window (at most the window's
/// requests plus one frame) and is zeroed once the cursor has passed the frame.
/// </para>
/// </summary>
/// <param name="consumers">The window: requests in flight at most (num_consumers; 1 = one at a time, in order).</param>
/// <param name="consumerSlots">The exporter-wide bound on requests in flight (shared by its senders), or null.</param>
internal sealed class QueueSender(ISenderLog log, QueueDelivery deliver, ExporterCounters counters, ILogger logger, string exporter,
    QueueBatching? batching = null, int consumers = 1, SemaphoreSlim? consumerSlots = null)
{
    /// <summary>
    /// A merged request never exceeds this many (uncompressed) bytes: 4 MiB is gRPC's default maximum receive
    /// message size, which an upstream OTLP/gRPC server (e.g. the OpenTelemetry Collector) applies unless raised;
    /// a bigger merged request would be refused there. A single record is sent as queued, whatever its size.
    /// </summary>
    public const int MaxRequestBytes = 4 * 1024 * 1024;

    /// <summary>The code reported when a segment or frame is not sealed to this exporter's queue key.</summary>
    internal const string NoIdentityMatch = "no_identity_match";

    private readonly int _windowSize = Math.Max(1, consumers);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<PendingRecord> _pending = [];
    private readonly List<byte[]> _openFrames = [];
    private readonly List<LogRecord> _frameRecords = [];

    /// <summary>Requests launched and not yet passed by the cursor, oldest first (at most <see cref="_windowSize"/>).</summary>
    private readonly Queue<Request> _window = new();

    /// <summary>Retired requests, reused (their record lists keep their capacity).</summary>
    private readonly Stack<Request> _free = new();
    private Task _loop = Task.CompletedTask;

    /// <summary>The next record not yet passed: everything before it was accepted (or dropped) upstream.</summary>
    private QueueCursor _cursor;
    private int _pendingItems;
    private long _pendingBytes;
    private long _pendingSince;

    /// <summary>The current run's requests are cancelled with it (stop, or a disk error: they are resent from the cursor).</summary>
    private CancellationToken _sending;

    /// <summary>After a disk error the sender starts over from its last cursor after this pause.</summary>
    private static readonly TimeSpan FailurePause = TimeSpan.FromSeconds(1);

    public void Start() => _loop = Task.Run(() => SuperviseAsync(_stop.Token));

    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
    }

    private async Task SuperviseAsync(CancellationToken stop)
    {
        _cursor = log.StartCursor;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                // Resumes from the in-memory position, which matches the backlog already released.
                await RunAsync(stop).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A sender that died silently would let the backlog fill until clients are refused: log, pause,
                // and resume from the last cursor (a record may then be sent twice: at-least-once).
                ExporterLog.QueueSenderFailed(logger, exporter, (long)FailurePause.TotalMilliseconds, e);
                try
                {
                    await Task.Delay(FailurePause, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Forwards until stopped; <see cref="_cursor"/> is where it got to.</summary>
    private async Task RunAsync(CancellationToken stop)
    {
        using var run = CancellationTokenSource.CreateLinkedTokenSource(stop);
        _sending = run.Token;
        OpenSegment? open = null;
        uint frame = 0; // the next frame to read (ahead of the cursor while records are gathered or in flight)
        int closeRequestedAt = -1;
        try
        {
            while (true)
            {
                stop.ThrowIfCancellationRequested();
                Retire();
                Task changed = log.Changed; // before looking, so that no commit is missed
                QueueSegment? segment = log.First();
                if (segment is null)
                {
                    await WaitAsync(changed, stop).ConfigureAwait(false);
                    continue;
                }

                if (!ReferenceEquals(segment, open?.Segment))
                {
                    if (_window.Count > 0)
                    {
                        // The cursor must pass the previous segment before it names another one.
                        await WaitAsync(changed, stop).ConfigureAwait(false);
                        continue;
                    }

                    // Nothing is pending here: a request is sent before its segment can be finished.
                    open?.Dispose();
                    open = new OpenSegment(segment);
                    closeRequestedAt = -1;
                    if (segment.Seq != _cursor.Seq)
                    {
                        _cursor = new QueueCursor(segment.Seq, 0, 0);
                    }

                    frame = _cursor.Frame;
                }

                bool retired = segment.Retired; // read before the count: a retired segment's count is final
                int committed = segment.FrameCount;
                if (frame < committed)
                {
                    long frameBytes = segment.FrameBytes(frame);
                    int startRecord = frame == _cursor.Frame ? _cursor.Record : 0;
                    byte[]? plain = Open(open, frame);
                    if (plain is null)
                    {
                        await SkipFrameAsync(segment, frame, frameBytes, stop).ConfigureAwait(false);
                    }
                    else
                    {
                        await GatherFrameAsync(segment, plain, frame, startRecord, frameBytes, stop).ConfigureAwait(false);
                    }

                    frame++;
                    continue;
                }

                if (_pending.Count > 0)
                {
                    if (_window.Count == 0 || retired)
                    {
                        // Nothing more is ready: send what was gathered now rather than wait (the clients were
                        // acknowledged already; waiting would only delay delivery).
                        await FlushAsync(stop).ConfigureAwait(false);
                    }
                    else
                    {
                        // A request is in flight: what is committed meanwhile joins this one, as with one in flight.
                        await WaitAsync(changed, stop).ConfigureAwait(false);
                    }

                    continue;
                }

                if (retired)
                {
                    if (_window.Count > 0)
                    {
                        // Deleted (or passed, for a WAL) only once the cursor is past all of it.
                        await WaitAsync(changed, stop).ConfigureAwait(false);
                        continue;
                    }

                    open.Dispose();
                    open = null;
                    log.Finish(segment);
                    continue;
                }

                if (_window.Count == 0 && closeRequestedAt != committed)
                {
                    // All of the live segment is forwarded: have the writer retire it so that it can be deleted now
                    // rather than after the next roll (sent data does not stay on disk). Not while requests are in
                    // flight: a segment is finished only once they complete, and records committed meanwhile would
                    // each start a segment of their own, one window apart.
                    closeRequestedAt = committed;
                    log.RequestClose(segment, committed);
                }

                await WaitAsync(changed, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stop: the cursor is past the completed prefix; the rest is resent at the next start.
        }
        finally
        {
            open?.Dispose();
            await run.CancelAsync().ConfigureAwait(false);
            await DrainAsync().ConfigureAwait(false);
            DiscardPending();
        }
    }

    /// <summary>Until the log changes or the oldest request in flight completes (then <see cref="Retire"/> moves the cursor).</summary>
    private Task WaitAsync(Task changed, CancellationToken stop) =>
        (_window.TryPeek(out Request? head) ? Task.WhenAny(changed, head.Sent) : changed).WaitAsync(stop);

    /// <summary>Adds the records of an opened frame (from <paramref name="startRecord"/>) to the request being gathered.</summary>
    private async Task GatherFrameAsync(QueueSegment segment, byte[] plain, uint frame, int startRecord, long frameBytes, CancellationToken stop)
    {
        _frameRecords.Clear();
        try
        {
            LogReader.ParseRecords(plain, frame, _frameRecords);
        }
        catch (SealedIntegrityException e)
        {
            // The records before it are forwarded; the rest of the frame is lost.
            Unreadable(segment, frame, e.Code);
        }

        if (startRecord > 0)
        {
            _frameRecords.RemoveRange(0, Math.Min(startRecord, _frameRecords.Count));
        }

        // Records that are not the sender's (ISenderLog.Wants: another pipeline's, another signal's) are passed over:
        // the frame ends, for the cursor and the backlog, with the last record it forwards.
        int lastWanted = _frameRecords.Count - 1;
        while (lastWanted >= 0 && !log.Wants(_frameRecords[lastWanted]))
        {
            lastWanted--;
        }

        if (lastWanted < 0)
        {
            CryptographicOperations.ZeroMemory(plain);
            await SkipFrameAsync(segment, frame, frameBytes, stop).ConfigureAwait(false);
            return;
        }

        _openFrames.Add(plain);
        bool replayed = segment.Seq <= log.RecoveredThroughSeq;
        for (int i = 0; i <= lastWanted; i++)
        {
            OtlpSignal signal = (OtlpSignal)_frameRecords[i].Signal;
            if (!log.Wants(_frameRecords[i]))
            {
                continue;
            }

            ReadOnlyMemory<byte> payload = _frameRecords[i].Payload;
            int index = startRecord + i;
            bool last = i == lastWanted;

            // Recomputed rather than stored: the queue format (docs/format.md §13) has no count, the sender validated
            // each record this way before batching existed, and a parse of a payload costs far less than sending it.
            int items = OtlpValidator.TryValidate(payload.Span, signal, out OtlpSummary summary, out _) ? summary.ItemCount : 0;
            var record = new PendingRecord(
                plain,
                payload,
                signal,
                items,
                replayed,
                last ? new QueueCursor(segment.Seq, frame + 1, 0) : new QueueCursor(segment.Seq, frame, index + 1),
                last ? frameBytes : 0);
            await AddAsync(record, stop).ConfigureAwait(false);
        }
    }

    /// <summary>Adds a record to the request being gathered; sends first when it does not fit, and after when the request is full or gathering took long enough.</summary>
    private async Task AddAsync(PendingRecord record, CancellationToken stop)
    {
        if (_pending.Count > 0 && !Fits(record))
        {
            await FlushAsync(stop).ConfigureAwait(false);
        }

        if (_pending.Count == 0)
        {
            _pendingSince = Stopwatch.GetTimestamp();
        }

        _pending.Add(record);
        _pendingItems += record.Items;
        _pendingBytes += record.Payload.Length;
        if (batching is not { } b
            || _pendingItems >= b.MaxItems
            || (b.Timeout > TimeSpan.Zero && Stopwatch.GetElapsedTime(_pendingSince) >= b.Timeout))
        {
            await FlushAsync(stop).ConfigureAwait(false);
        }
    }

    private bool Fits(PendingRecord record) =>
        batching is { } b
        && record.Signal == _pending[0].Signal
        && (long)_pendingItems + record.Items <= b.MaxItems
        && _pendingBytes + record.Payload.Length <= MaxRequestBytes;

    /// <summary>Launches the gathered records as one request (merged when several) once the window has room.</summary>
    private async Task FlushAsync(CancellationToken stop)
    {
        if (_pending.Count == 0)
        {
            return;
        }

        Request request = await NextSlotAsync(stop).ConfigureAwait(false);
        if (consumerSlots is not null)
        {
            await consumerSlots.WaitAsync(stop).ConfigureAwait(false);
        }

        request.Records.AddRange(_pending);
        request.Items = _pendingItems;
        request.Bytes = checked((int)_pendingBytes);
        request.Sent = SendAsync(request, _sending);
        _window.Enqueue(request);
        _pending.Clear();
        _pendingItems = 0;
        _pendingBytes = 0;
    }

    /// <summary>A free request once the window has room: waits for its oldest request and moves the cursor while it is full.</summary>
    private async Task<Request> NextSlotAsync(CancellationToken stop)
    {
        while (_window.Count >= _windowSize)
        {
            await _window.Peek().Sent.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            stop.ThrowIfCancellationRequested(); // a request is cancelled only with the run
            Retire();
        }

        return _free.TryPop(out Request? free) ? free : new Request();
    }

    /// <summary>
    /// One request, on the thread pool (the loop goes on reading): retried by the delivery until upstream accepts or
    /// refuses it for good; a merged request refused permanently is sent again record by record, so that only the
    /// record upstream refuses is dropped. Cancelled with the run: its records are resent from the cursor.
    /// </summary>
    private async Task SendAsync(Request request, CancellationToken sending)
    {
        try
        {
            await Task.Yield();
            List<PendingRecord> records = request.Records;
            if (records.Count > 1 && await DeliverMergedAsync(request, sending).ConfigureAwait(false))
            {
                return;
            }

            foreach (PendingRecord record in records)
            {
                await deliver(record.Signal, record.Payload, record.Items, 1, sending).ConfigureAwait(false);
            }
        }
        finally
        {
            consumerSlots?.Release();
        }
    }

    private async Task<bool> DeliverMergedAsync(Request request, CancellationToken sending)
    {
        byte[] merged = ArrayPool<byte>.Shared.Rent(request.Bytes);
        try
        {
            int pos = 0;
            foreach (PendingRecord record in request.Records)
            {
                record.Payload.Span.CopyTo(merged.AsSpan(pos));
                pos += record.Payload.Length;
            }

            return await deliver(request.Records[0].Signal, merged.AsMemory(0, request.Bytes), request.Items, request.Records.Count, sending).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(merged, clearArray: true);
        }
    }

    /// <summary>
    /// Moves the cursor past the completed prefix of the window (and writes it once when it moved). Stops at the first
    /// request still in flight; one that failed or was cancelled is rethrown, unless <paramref name="final"/> (the end
    /// of a run, which resends it).
    /// </summary>
    private void Retire(bool final = false)
    {
        bool moved = false;
        while (_window.TryPeek(out Request? head) && head.Sent.IsCompleted)
        {
            if (!head.Sent.IsCompletedSuccessfully)
            {
                if (!final)
                {
                    // Faulted, or cancelled by the run (then stop is requested): the loop ends, the rest is resent.
                    WriteMoved(moved);
                    head.Sent.GetAwaiter().GetResult();
                }

                break;
            }

            foreach (PendingRecord record in head.Records)
            {
                Forwarded(record);
            }

            Recycle(_window.Dequeue());
            moved = true;
        }

        WriteMoved(moved);
    }

    private void WriteMoved(bool moved)
    {
        if (moved)
        {
            WriteCursor(_cursor);
        }
    }

    /// <summary>End of a run: every request is awaited (cancelled ones end at once), the completed prefix moves the cursor, the rest is resent next time.</summary>
    private async Task DrainAsync()
    {
        foreach (Request request in _window)
        {
            await request.Sent.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        Retire(final: true);
        while (_window.TryDequeue(out Request? request))
        {
            Recycle(request);
        }
    }

    private void Recycle(Request request)
    {
        request.Records.Clear();
        request.Sent = Task.CompletedTask;
        _free.Push(request);
    }

    /// <summary>Upstream has the record (or refused it for good): move the cursor past it; a finished frame is released and zeroed.</summary>
    private void Forwarded(PendingRecord record)
    {
        if (record.Replayed)
        {
            counters.OnReplayed(record.Items);
        }

        _cursor = record.After;
        if (record.FrameBytes > 0)
        {
            log.Release(record.FrameBytes);
            if (record.Plain is not null)
            {
                CryptographicOperations.ZeroMemory(record.Plain);
                _openFrames.Remove(record.Plain);
            }
        }
    }

    /// <summary>A frame with nothing to forward: what precedes it is launched, then the frame takes its place in the window (complete at once), so the cursor passes it in order.</summary>
    private async Task SkipFrameAsync(QueueSegment segment, uint frame, long frameBytes, CancellationToken stop)
    {
        await FlushAsync(stop).ConfigureAwait(false);
        Request skip = await NextSlotAsync(stop).ConfigureAwait(false);
        skip.Records.Add(new PendingRecord(null, default, default, 0, false, new QueueCursor(segment.Seq, frame + 1, 0), frameBytes));
        skip.Sent = Task.CompletedTask;
        _window.Enqueue(skip);
        Retire();
    }

    /// <summary>Stop or failure (after <see cref="DrainAsync"/>): what was gathered is resent from the cursor next time; its plaintext is zeroed now.</summary>
    private void DiscardPending()
    {
        foreach (byte[] plain in _openFrames)
        {
            CryptographicOperations.ZeroMemory(plain);
        }

        _openFrames.Clear();
        _pending.Clear();
        _pendingItems = 0;
        _pendingBytes = 0;
    }

    /// <summary>
    /// The records of frame <paramref name="frame"/>, or null (reported with its code) when they cannot be had. A v2
    /// segment's header is verified at its first frame read; when it fails, every frame of the segment is skipped
    /// (reported once, each counted).
    /// </summary>
    private byte[]? Open(OpenSegment open, uint frame)
    {
        QueueSegment segment = open.Segment;
        if (!segment.IsV1 && open.Reader is null)
        {
            if (open.HeaderProblem is not null)
            {
                counters.OnUnreadableFrame();
                return null;
            }

            open.HeaderProblem = OpenHeader(open);
            if (open.HeaderProblem is not null)
            {
                Unreadable(segment, frame, open.HeaderProblem);
                return null;
            }
        }

        LogFrame location = segment.Frame(frame);
        if (!open.TryRead(location.Offset + LogScan.PrefixLength, location.SealedLength, out Span<byte> sealedFrame))
        {
            // Published frames are whole; a file shorter than that was cut after the fact.
            Unreadable(segment, frame, StoreCodes.FrameMalformed);
            return null;
        }

        string? code;
        byte[]? records = segment.IsV1
            ? QueueSegmentV1.Open(sealedFrame, log, segment, frame, out code)
            : OpenFrame(open.Reader!, frame, sealedFrame, open.Scratch(sealedFrame.Length), out code);
        if (records is null)
        {
            Unreadable(segment, frame, code!);
        }

        return records;
    }

    /// <summary>
    /// Opens a data frame of a v2 segment: authenticated as a whole under the segment's key at its index before any
    /// byte is used. The plaintext is opened into <paramref name="scratch"/> (pooled, zeroed here) and copied out at
    /// its exact length, the form <see cref="LogReader.ParseRecords"/> takes.
    /// </summary>
    private static byte[]? OpenFrame(SealedLogReader reader, uint frame, ReadOnlySpan<byte> sealedFrame, Span<byte> scratch, out string? code)
    {
        try
        {
            int length = reader.OpenFrame(frame, sealedFrame, scratch, out bool end);
            code = end ? StoreCodes.FrameOutOfOrder : null; // the log's end where a data frame was written
            return end ? null : scratch[..length].ToArray();
        }
        catch (SealedIntegrityException e)
        {
            code = e.Code;
            return null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(scratch);
        }
    }

    /// <summary>
    /// Verifies a v2 segment's header once (it lies before frame 0; for a WAL segment, its key header, docs/format.md
    /// §14.11, takes its place); null when it opens and names this log's kind, label and file.
    /// </summary>
    private string? OpenHeader(OpenSegment open)
    {
        QueueSegment segment = open.Segment;
        Span<byte> header;
        if (segment.KeyHeader is { } keyHeader)
        {
            header = keyHeader;
        }
        else if (!open.TryRead(0, checked((int)segment.Frame(0).Offset), out header))
        {
            return StoreCodes.FrameMalformed;
        }

        SealedLogReader reader;
        try
        {
            reader = SealedLogReader.Open(header, [log.Identity]);
        }
        catch (SealedIntegrityException e)
        {
            return e.Code;
        }
        catch (Exception e) when (e is NoIdentityMatchException or CryptographicException)
        {
            return NoIdentityMatch;
        }

        string? problem = HeaderProblem(reader.Info, log)
            ?? (string.Equals(StoreFormat.BlockStemFromObjectId(reader.Info.ObjectId), segment.Id, StringComparison.Ordinal) ? null : StoreCodes.NameMismatch);
        if (problem is not null)
        {
            reader.Dispose();
            return problem;
        }

        open.Reader = reader;
        return null;
    }

    /// <summary>What is wrong with an authenticated header for this log: its kind (queue) and label (the exporter's) are required (v1 and v2).</summary>
    internal static string? HeaderProblem(SealedObjectInfo info, ISenderLog log) =>
        info.ObjectKind != log.Kind ? StoreCodes.KindMismatch
        : !string.Equals(info.Tenant, log.Label, StringComparison.Ordinal) ? StoreCodes.TenantMismatch
        : null;

    private void Unreadable(QueueSegment segment, long frame, string code)
    {
        counters.OnUnreadableFrame();
        ExporterLog.QueueFrameUnreadable(logger, exporter, segment.Path, frame, code);
    }

    private void WriteCursor(QueueCursor cursor)
    {
        try
        {
            log.WriteCursor(cursor);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Once per CursorWarningIntervalMs, with how many failures it stands for: a full disk fails every
            // forwarded request's cursor write, and one line per request would flood the log (the WAL's rule).
            _cursorFailures++;
            long now = Environment.TickCount64;
            if (_lastCursorWarning == 0 || now - _lastCursorWarning >= CursorWarningIntervalMs)
            {
                ExporterLog.QueueCursorWriteFailed(logger, exporter, _cursorFailures, e.Message);
                _lastCursorWarning = now;
                _cursorFailures = 0;
            }
        }
    }

    private const long CursorWarningIntervalMs = 30_000;
    private long _lastCursorWarning;
    private long _cursorFailures;

    /// <summary>A record gathered for the next request.</summary>
    /// <param name="Plain">Its frame's plaintext (zeroed once the cursor passes the frame's last record); null for a skipped frame.</param>
    /// <param name="After">The cursor once it is forwarded.</param>
    /// <param name="FrameBytes">Non-zero on the frame's last record: the queue bytes released once it is forwarded.</param>
    private readonly record struct PendingRecord(byte[]? Plain, ReadOnlyMemory<byte> Payload, OtlpSignal Signal, int Items, bool Replayed, QueueCursor After, long FrameBytes);

    /// <summary>One request of the window: its records (in log order), their items and bytes, and its send.</summary>
    private sealed class Request
    {
        public List<PendingRecord> Records { get; } = [];

        public int Items { get; set; }

        public int Bytes { get; set; }

        /// <summary>Completes once upstream accepted the request or refused it for good (or the run was cancelled).</summary>
        public Task Sent { get; set; } = Task.CompletedTask;
    }

    /// <summary>
    /// The segment being read: its file (opened at the first read: a segment whose first write failed has no frame and
    /// may have no file), buffers sized to its largest frame, and (v2) the reader its header opened.
    /// </summary>
    private sealed class OpenSegment(QueueSegment segment) : IDisposable
    {
        private SafeFileHandle? _file;
        private byte[] _sealed = [];
        private byte[] _scratch = [];

        public QueueSegment Segment { get; } = segment;

        /// <summary>The segment's log reader, once its header verified (one key agreement for the whole segment).</summary>
        public SealedLogReader? Reader { get; set; }

        /// <summary>Why the header did not verify; then no frame of the segment is read.</summary>
        public string? HeaderProblem { get; set; }

        /// <summary>Reads <paramref name="length"/> bytes at <paramref name="offset"/>; false when the file ends first.</summary>
        public bool TryRead(long offset, int length, out Span<byte> bytes)
        {
            // A WAL segment comes with a handle of its own (it is renamed into blocks/ while being read); positioned
            // reads share it safely. Borrowed: not disposed here.
            SafeFileHandle file = Segment.SharedFile ?? (_file ??= File.OpenHandle(Segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            Grow(ref _sealed, length, clear: false);
            bytes = _sealed.AsSpan(0, length);
            for (int read = 0; read < length;)
            {
                int n = RandomAccess.Read(file, bytes[read..], offset + read);
                if (n == 0)
                {
                    return false;
                }

                read += n;
            }

            return true;
        }

        /// <summary>Room to open a frame of <paramref name="sealedLength"/> sealed bytes (the opener zeroes it after use).</summary>
        public Span<byte> Scratch(int sealedLength)
        {
            Grow(ref _scratch, sealedLength, clear: true);
            return _scratch.AsSpan(0, sealedLength);
        }

        public void Dispose()
        {
            Reader?.Dispose();
            _file?.Dispose();
            Grow(ref _sealed, 0, clear: false);
            Grow(ref _scratch, 0, clear: true);
        }

        /// <summary>Rents a bigger array when needed (0: returns it); the old one goes back to the pool.</summary>
        private static void Grow(ref byte[] buffer, int length, bool clear)
        {
            if (length > 0 && buffer.Length >= length)
            {
                return;
            }

            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer, clear);
            }

            buffer = length > 0 ? ArrayPool<byte>.Shared.Rent(length) : [];
        }
    }
}
