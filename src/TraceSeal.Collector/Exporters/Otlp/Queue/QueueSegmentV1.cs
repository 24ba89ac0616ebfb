using System.Globalization;
using System.Security.Cryptography;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;

namespace TraceSeal.Collector.Exporters.Otlp.Queue;

/// <summary>
/// Reading (only) the v1 queue segments an older version left behind (docs/format.md §13.1): `SEQ-ID8.queue`, frames
/// `[u32 BE length][sealed object v1, kind queue]` whose plaintext is the §12.2 frame (header binding it to its segment
/// and position, then records). They are forwarded in place, oldest first, and deleted like any other segment; they are
/// walked by <see cref="LogScan.ScanV1(Microsoft.Win32.SafeHandles.SafeFileHandle, ObjectKind?, string?)"/>. Nothing
/// writes v1 any more, so once they are gone this file can go too.
/// </summary>
internal static class QueueSegmentV1
{
    /// <summary>
    /// Opens frame <paramref name="frame"/> of a v1 segment: a sealed object of its own, which must carry kind queue and
    /// the exporter's label, and whose frame header must name this segment and position. Returns the records (the
    /// frame header stripped) or null with a §7 / §12.6 code.
    /// </summary>
    public static byte[]? Open(ReadOnlySpan<byte> sealedFrame, ISenderLog log, QueueSegment segment, uint frame, out string? code)
    {
        byte[] plain;
        try
        {
            plain = Sealer.Open(sealedFrame, [log.Identity], out SealedObjectInfo info);
            code = QueueSender.HeaderProblem(info, log);
        }
        catch (SealedIntegrityException e)
        {
            code = e.Code;
            return null;
        }
        catch (Exception e) when (e is NoIdentityMatchException or CryptographicException)
        {
            code = QueueSender.NoIdentityMatch;
            return null;
        }

        if (code is null
            && (!StoreFormat.TryReadFrameHeader(plain, out uint id, out ulong seq, out uint index)
                || !string.Equals(id.ToString("x8", CultureInfo.InvariantCulture), segment.Id, StringComparison.Ordinal)
                || seq != segment.Seq
                || index != frame))
        {
            // Moved or replayed from another segment or position.
            code = StoreCodes.FrameOutOfOrder;
        }

        byte[]? records = code is null ? plain.AsSpan(StoreFormat.FrameHeaderSize).ToArray() : null;
        CryptographicOperations.ZeroMemory(plain);
        return records;
    }
}
