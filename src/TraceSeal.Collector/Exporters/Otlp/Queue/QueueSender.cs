using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using TraceSeal.Collector.Config;
using TraceSeal.Otlp;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;

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
/// The background sender of a <see cref="QueueLog"/>: reads committed frames in order, opens each with the
/// queue identity and forwards its records (one request in flight keeps the cursor a single position). With
/// <paramref name="batching"/>, consecutive records of one signal that are already queued are merged into one
/// request (protobuf concatenation of Export*ServiceRequest messages appends their repeated resource_* field:
/// the result is one valid request holding both), bounded by items, by <see cref="MaxRequestBytes"/> and by the
/// batch timeout; the sender never waits for more data than is ready. After each request the cursor moves past
/// all of its records; finished segments are deleted. The plaintext of a frame lives only while its records are
/// being gathered and forwarded (at most one request's worth plus one frame) and is zeroed afterwards.
/// </summary>
internal sealed class QueueSender(QueueLog log, QueueDelivery deliver, ExporterCounters counters, ILogger logger, string exporter, QueueBatching? batching = null)
{
    /// <summary>
    /// A merged request never exceeds this many (uncompressed) bytes: 4 MiB is gRPC's default maximum receive
    /// message size, which an upstream OTLP/gRPC server (e.g. the OpenTelemetry Collector) applies unless raised;
    /// a bigger merged request would be refused there. A single record is sent as queued, whatever its size.
    /// </summary>
    public const int MaxRequestBytes = 4 * 1024 * 1024;

    private readonly CancellationTokenSource _stop = new();
    private readonly List<PendingRecord> _pending = [];
    private readonly List<byte[]> _openFrames = [];
    private readonly List<(OtlpSignal Signal, int Offset, int Length, int Index)> _frameRecords = [];
    private Task _loop = Task.CompletedTask;

    /// <summary>The next record to forward; everything before it was accepted (or dropped) upstream.</summary>
    private QueueCursor _cursor;
    private int _pendingItems;
    private long _pendingBytes;
    private long _pendingSince;

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
        QueueSegment? current = null;
        SafeFileHandle? file = null;
        long offset = 0;
        uint frame = 0; // index of the frame at offset (read ahead of the cursor while records are gathered)
        long closeRequestedAt = -1;
        try
        {
            while (true)
            {
                stop.ThrowIfCancellationRequested();
                Task changed = log.Changed; // before looking, so that no commit is missed
                QueueSegment? segment = log.First();
                if (segment is null)
                {
                    await changed.WaitAsync(stop).ConfigureAwait(false);
                    continue;
                }

                if (!ReferenceEquals(segment, current))
                {
                    // Nothing is pending here: a request is sent before its segment can be finished.
                    file?.Dispose();
                    file = File.OpenHandle(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    current = segment;
                    closeRequestedAt = -1;
                    if (segment.Seq != _cursor.Seq)
                    {
                        _cursor = new QueueCursor(segment.Seq, 0, 0);
                    }

                    frame = _cursor.Frame;
                    offset = Skip(file, frame, segment.Committed);
                }

                long committed = segment.Committed;
                if (offset < committed)
                {
                    byte[]? sealedFrame = QueueLog.ReadFrame(file!, offset, committed);
                    long frameBytes = sealedFrame is null ? committed - offset : StoreFormat.FrameLengthPrefix + sealedFrame.Length;
                    int startRecord = frame == _cursor.Frame ? _cursor.Record : 0;
                    if (sealedFrame is null)
                    {
                        // Committed bytes are whole frames; lengths that do not fit mean damage after the fact.
                        Unreadable(segment, frame, StoreCodes.FrameMalformed);
                        await SkipFrameAsync(segment, frame, frameBytes, stop).ConfigureAwait(false);
                    }
                    else
                    {
                        await GatherFrameAsync(segment, sealedFrame, frame, startRecord, frameBytes, stop).ConfigureAwait(false);
                    }

                    offset += frameBytes;
                    frame++;
                    continue;
                }

                if (_pending.Count > 0)
                {
                    // Nothing more is ready: send what was gathered now rather than wait (the clients were
                    // acknowledged already; waiting would only delay delivery). Whatever is committed while this
                    // request is in flight makes the next one.
                    await FlushAsync(stop).ConfigureAwait(false);
                    continue;
                }

                if (segment.Closed)
                {
                    file?.Dispose();
                    file = null;
                    current = null;
                    log.Remove(segment);
                    continue;
                }

                if (closeRequestedAt != committed)
                {
                    // All of the live segment is forwarded: have the writer close it so that it can be deleted
                    // now rather than after the next roll (sent data does not stay on disk).
                    closeRequestedAt = committed;
                    log.RequestClose(segment, committed);
                }

                await changed.WaitAsync(stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stop: the cursor is at the last forwarded record; the rest is resent at the next start.
        }
        finally
        {
            file?.Dispose();
            DiscardPending();
        }
    }

    /// <summary>Opens a frame and adds its records (from <paramref name="startRecord"/>) to the request being gathered.</summary>
    private async Task GatherFrameAsync(QueueSegment segment, byte[] sealedFrame, uint frame, int startRecord, long frameBytes, CancellationToken stop)
    {
        byte[]? plain = Open(segment, sealedFrame, frame);
        if (plain is null)
        {
            await SkipFrameAsync(segment, frame, frameBytes, stop).ConfigureAwait(false);
            return;
        }

        _frameRecords.Clear();
        int pos = StoreFormat.FrameHeaderSize;
        for (int record = 0; pos < plain.Length; record++)
        {
            if (!StoreFormat.TryReadRecord(plain, pos, out byte signal, out int payloadOffset, out int payloadLength))
            {
                // The records before it are forwarded; the rest of the frame is lost.
                Unreadable(segment, frame, StoreCodes.RecordMalformed);
                break;
            }

            pos = payloadOffset + payloadLength;
            if (record >= startRecord)
            {
                _frameRecords.Add(((OtlpSignal)signal, payloadOffset, payloadLength, record));
            }
        }

        if (_frameRecords.Count == 0)
        {
            CryptographicOperations.ZeroMemory(plain);
            await SkipFrameAsync(segment, frame, frameBytes, stop).ConfigureAwait(false);
            return;
        }

        _openFrames.Add(plain);
        bool replayed = segment.Seq <= log.RecoveredThroughSeq;
        int count = _frameRecords.Count;
        for (int i = 0; i < count; i++)
        {
            var (signal, payloadOffset, payloadLength, index) = _frameRecords[i];
            bool last = i == count - 1;
            ReadOnlyMemory<byte> payload = plain.AsMemory(payloadOffset, payloadLength);

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

    /// <summary>Sends the gathered records (merged when several), then moves the cursor past them.</summary>
    private async Task FlushAsync(CancellationToken stop)
    {
        if (_pending.Count == 0)
        {
            return;
        }

        if (_pending.Count > 1 && await DeliverMergedAsync(stop).ConfigureAwait(false))
        {
            foreach (PendingRecord record in _pending)
            {
                Forwarded(record);
            }

            WriteCursor(_cursor);
        }
        else
        {
            // One record, or a merged request upstream refused permanently (400, 413): send the records one by one,
            // so that only the record it refuses is dropped.
            foreach (PendingRecord record in _pending)
            {
                await deliver(record.Signal, record.Payload, record.Items, 1, stop).ConfigureAwait(false);
                Forwarded(record);
                WriteCursor(_cursor);
            }
        }

        _pending.Clear();
        _pendingItems = 0;
        _pendingBytes = 0;
    }

    private async Task<bool> DeliverMergedAsync(CancellationToken stop)
    {
        int length = checked((int)_pendingBytes);
        byte[] merged = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            int pos = 0;
            foreach (PendingRecord record in _pending)
            {
                record.Payload.Span.CopyTo(merged.AsSpan(pos));
                pos += record.Payload.Length;
            }

            return await deliver(_pending[0].Signal, merged.AsMemory(0, length), _pendingItems, _pending.Count, stop).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(merged, clearArray: true);
        }
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
            CryptographicOperations.ZeroMemory(record.Plain);
            _openFrames.Remove(record.Plain);
        }
    }

    /// <summary>A frame with nothing to forward: send what precedes it, then move the cursor past it.</summary>
    private async Task SkipFrameAsync(QueueSegment segment, uint frame, long frameBytes, CancellationToken stop)
    {
        await FlushAsync(stop).ConfigureAwait(false);
        _cursor = new QueueCursor(segment.Seq, frame + 1, 0);
        WriteCursor(_cursor);
        log.Release(frameBytes);
    }

    /// <summary>Stop or failure: what was gathered is resent from the cursor next time; its plaintext is zeroed now.</summary>
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

    /// <summary>The frame's plaintext, or null (reported) when it does not open or is not this segment's frame <paramref name="frame"/>.</summary>
    private byte[]? Open(QueueSegment segment, byte[] sealedFrame, uint frame)
    {
        byte[] plain;
        try
        {
            plain = Sealer.Open(sealedFrame, [log.Key.Identity], out SealedObjectInfo info);
            if (info.ObjectKind != ObjectKind.Queue || !string.Equals(info.Tenant, log.Label, StringComparison.Ordinal))
            {
                CryptographicOperations.ZeroMemory(plain);
                Unreadable(segment, frame, info.ObjectKind != ObjectKind.Queue ? StoreCodes.KindMismatch : StoreCodes.TenantMismatch);
                return null;
            }
        }
        catch (SealedIntegrityException e)
        {
            Unreadable(segment, frame, e.Code);
            return null;
        }
        catch (Exception e) when (e is NoIdentityMatchException or CryptographicException)
        {
            Unreadable(segment, frame, "no_identity_match");
            return null;
        }

        // The header binds the frame to its segment and position: a frame moved or replayed from elsewhere is refused.
        if (!StoreFormat.TryReadFrameHeader(plain, out uint id, out ulong seq, out uint index) || id != segment.Id || seq != segment.Seq || index != frame)
        {
            CryptographicOperations.ZeroMemory(plain);
            Unreadable(segment, frame, StoreCodes.FrameOutOfOrder);
            return null;
        }

        return plain;
    }

    private void Unreadable(QueueSegment segment, long frame, string code)
    {
        counters.OnUnreadableFrame();
        ExporterLog.QueueFrameUnreadable(logger, exporter, segment.Path, frame, code);
    }

    private void WriteCursor(QueueCursor cursor)
    {
        try
        {
            cursor.Write(log.Directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ExporterLog.QueueCursorWriteFailed(logger, exporter, e);
        }
    }

    /// <summary>Offset of frame <paramref name="frames"/> (the frames before it were forwarded before the last stop).</summary>
    private static long Skip(SafeFileHandle file, uint frames, long committed)
    {
        long offset = 0;
        Span<byte> prefix = stackalloc byte[StoreFormat.FrameLengthPrefix];
        for (uint i = 0; i < frames && committed - offset >= prefix.Length; i++)
        {
            RandomAccess.Read(file, prefix, offset);
            offset = Math.Min(committed, offset + prefix.Length + BinaryPrimitives.ReadUInt32BigEndian(prefix));
        }

        return offset;
    }

    /// <summary>A record gathered for the next request.</summary>
    /// <param name="Plain">Its frame's plaintext (zeroed once the frame's last record is forwarded).</param>
    /// <param name="After">The cursor once it is forwarded.</param>
    /// <param name="FrameBytes">Non-zero on the frame's last record: the queue bytes released once it is forwarded.</param>
    private readonly record struct PendingRecord(byte[] Plain, ReadOnlyMemory<byte> Payload, OtlpSignal Signal, int Items, bool Replayed, QueueCursor After, long FrameBytes);
}
