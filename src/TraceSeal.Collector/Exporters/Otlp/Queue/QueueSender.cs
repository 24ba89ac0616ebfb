using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using TraceSeal.Otlp;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;

namespace TraceSeal.Collector.Exporters.Otlp.Queue;

/// <summary>Forwards one queued record upstream; returns once it was accepted or permanently refused (it retries meanwhile).</summary>
internal delegate Task QueueDelivery(OtlpSignal signal, ReadOnlyMemory<byte> payload, int items, CancellationToken stop);

/// <summary>
/// The background sender of a <see cref="QueueLog"/>: reads committed frames in order, opens each with the
/// queue identity, forwards its records one at a time (one request in flight keeps the cursor a single
/// position), writes the cursor after each record and deletes segments it has finished. The plaintext of a
/// frame lives only while its records are being forwarded and is zeroed afterwards.
/// </summary>
internal sealed class QueueSender(QueueLog log, QueueDelivery deliver, ExporterCounters counters, ILogger logger, string exporter)
{
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private QueueCursor _cursor;

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
                _cursor = await RunAsync(_cursor, stop).ConfigureAwait(false);
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

    /// <summary>Forwards until stopped; returns the cursor it reached.</summary>
    private async Task<QueueCursor> RunAsync(QueueCursor cursor, CancellationToken stop)
    {
        QueueSegment? current = null;
        SafeFileHandle? file = null;
        long offset = 0;
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
                    file?.Dispose();
                    file = File.OpenHandle(segment.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    current = segment;
                    closeRequestedAt = -1;
                    if (segment.Seq != cursor.Seq)
                    {
                        _cursor = cursor = new QueueCursor(segment.Seq, 0, 0);
                    }

                    offset = Skip(file, cursor.Frame, segment.Committed);
                }

                long committed = segment.Committed;
                if (offset < committed)
                {
                    byte[]? sealedFrame = QueueLog.ReadFrame(file!, offset, committed);
                    long frameBytes = sealedFrame is null ? committed - offset : StoreFormat.FrameLengthPrefix + sealedFrame.Length;
                    if (sealedFrame is null)
                    {
                        // Committed bytes are whole frames; lengths that do not fit mean damage after the fact.
                        Unreadable(segment, cursor.Frame, StoreCodes.FrameMalformed);
                    }
                    else
                    {
                        await ForwardFrameAsync(segment, sealedFrame, cursor.Frame, cursor.Record, stop).ConfigureAwait(false);
                    }

                    _cursor = cursor = new QueueCursor(segment.Seq, cursor.Frame + 1, 0);
                    WriteCursor(cursor);
                    offset += frameBytes;
                    log.Release(frameBytes);
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
            return cursor;
        }
        finally
        {
            file?.Dispose();
        }
    }

    private async Task ForwardFrameAsync(QueueSegment segment, byte[] sealedFrame, uint frame, int startRecord, CancellationToken stop)
    {
        byte[] plain;
        try
        {
            plain = Sealer.Open(sealedFrame, [log.Key.Identity], out SealedObjectInfo info);
            if (info.ObjectKind != ObjectKind.Queue || !string.Equals(info.Tenant, log.Label, StringComparison.Ordinal))
            {
                CryptographicOperations.ZeroMemory(plain);
                Unreadable(segment, frame, info.ObjectKind != ObjectKind.Queue ? StoreCodes.KindMismatch : StoreCodes.TenantMismatch);
                return;
            }
        }
        catch (SealedIntegrityException e)
        {
            Unreadable(segment, frame, e.Code);
            return;
        }
        catch (Exception e) when (e is NoIdentityMatchException or CryptographicException)
        {
            Unreadable(segment, frame, "no_identity_match");
            return;
        }

        try
        {
            // The header binds the frame to its segment and position: a frame moved or replayed from elsewhere is refused.
            if (!StoreFormat.TryReadFrameHeader(plain, out uint id, out ulong seq, out uint index) || id != segment.Id || seq != segment.Seq || index != frame)
            {
                Unreadable(segment, frame, StoreCodes.FrameOutOfOrder);
                return;
            }

            bool replayed = segment.Seq <= log.RecoveredThroughSeq;
            int pos = StoreFormat.FrameHeaderSize;
            for (int record = 0; pos < plain.Length; record++)
            {
                if (!StoreFormat.TryReadRecord(plain, pos, out byte signal, out int payloadOffset, out int payloadLength))
                {
                    Unreadable(segment, frame, StoreCodes.RecordMalformed);
                    return;
                }

                pos = payloadOffset + payloadLength;
                if (record < startRecord)
                {
                    continue; // forwarded before the last stop
                }

                ReadOnlyMemory<byte> payload = plain.AsMemory(payloadOffset, payloadLength);
                int items = OtlpValidator.TryValidate(payload.Span, (OtlpSignal)signal, out OtlpSummary summary, out _) ? summary.ItemCount : 0;
                await deliver((OtlpSignal)signal, payload, items, stop).ConfigureAwait(false);
                if (replayed)
                {
                    counters.OnReplayed(items);
                }

                if (pos < plain.Length)
                {
                    WriteCursor(new QueueCursor(segment.Seq, frame, record + 1));
                }
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
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
}
