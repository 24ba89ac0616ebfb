using TraceSeal.Storage;
using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;

namespace TraceSeal.Collector.Storage.Wal;

/// <summary>
/// Start-up recovery of the WAL segments an earlier run left behind, WITHOUT keys (the collector has none):
///
/// 1. Torn tail. The writer writes each frame as one positioned write, length prefix first, and fsyncs
///    only complete frames before acknowledging. So after a crash only the last frame can be incomplete,
///    and it was never acknowledged. It is recognised from lengths alone: for a v2 segment (a sealed log) by
///    the one keyless walk, <see cref="LogScan"/> (docs/format.md §14.3); for a v1 segment from fewer than 4
///    bytes left, a length of 0 or past end of file (`partial_write`), or a final frame whose sealed header does
///    not parse (`Sealer.ReadHeader`, §12.3). The file is truncated to the last complete frame and fsync'd. A
///    final frame that is complete but damaged inside an authenticated chunk cannot be told apart without keys:
///    it is kept, and the reader reports it.
/// 2. A v1 frame that fails in the middle of a segment, or bytes after a v2 end frame, is corruption, not a torn
///    write: nothing is cut; the segment is kept for readers to report (logged as WalSegmentCorrupt).
/// 3. The collector cannot add the end frame to an earlier run's log (its key died with that process), so every
///    segment is moved as it is to `blocks/TENANT/yyyy/MM/dd/HH/SEQ-ID.walseg` (rename, fsync both directories),
///    where readers scan it in full. Empty segments (no whole frame) are deleted.
/// </summary>
internal static class WalRecovery
{
    /// <summary>Recovers one tenant's WAL directory; returns the highest segment sequence number seen (0 if none).</summary>
    public static ulong RecoverTenant(string root, string tenant, DateTimeOffset now, bool fsync, ILogger logger)
    {
        var walDir = Path.Combine(root, StoreFormat.WalDir, tenant);
        ulong maxSeq = 0;
        var files = Directory.GetFiles(walDir, "*" + StoreFormat.WalExtension);
        Array.Sort(files, StringComparer.Ordinal);
        foreach (var path in files)
        {
            var stem = Path.GetFileNameWithoutExtension(path);
            long length;
            if (StoreFormat.TryParseLogStem(stem, out var seq, out _))
            {
                length = CutTornLogTail(path, logger);
            }
            else if (StoreFormat.TryParseSegmentStem(stem, out seq, out _))
            {
                // A v1 segment (per-frame sealed objects) left by an earlier version.
                length = CutTornTail(path, tenant, logger);
            }
            else
            {
                continue;
            }

            maxSeq = Math.Max(maxSeq, seq);
            if (length == 0)
            {
                File.Delete(path);
                continue;
            }

            var bucket = StoreFormat.BucketDirectory(root, tenant, now);
            DirectorySync.EnsureDirectory(root, bucket, fsync: true);
            var target = Path.Combine(bucket, stem + StoreFormat.RecoveredExtension);
            File.Move(path, target, overwrite: false);
            DirectorySync.Fsync(bucket);
            StorageLog.SegmentRecovered(logger, path, target);
        }

        DirectorySync.Fsync(walDir);
        return maxSeq;
    }

    /// <summary>
    /// A v2 segment (a sealed log, docs/format.md §14): the one keyless walk (<see cref="LogScan"/>) finds the last
    /// whole frame; a torn frame after it was never acknowledged and is cut. A segment that ends inside its header
    /// or holds no frame is empty (returns 0). The end frame cannot be added here (no key): readers accept a
    /// recovered segment without it.
    /// </summary>
    internal static long CutTornLogTail(string path, ILogger logger)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        long length = RandomAccess.GetLength(file);
        LogScan scan;
        try
        {
            scan = LogScan.Scan(file);
        }
        catch (SealedIntegrityException e)
        {
            // Not a sealed log at all: keep it for readers (and verify data) to report.
            StorageLog.SegmentCorrupt(logger, path, 0, e.Code);
            return length;
        }

        switch (scan.Tail)
        {
            case LogTail.NoHeader:
                return 0;
            case LogTail.TrailingData:
                StorageLog.SegmentCorrupt(logger, path, scan.GoodLength, SealedIntegrityException.TrailingData);
                return length;
            case LogTail.Torn:
                RandomAccess.SetLength(file, scan.GoodLength);
                RandomAccess.FlushToDisk(file);
                StorageLog.TornTailCut(logger, path, StoreCodes.PartialWrite, length - scan.GoodLength, scan.GoodLength);
                break;
        }

        return scan.DataFrames == 0 ? 0 : scan.GoodLength;
    }

    /// <summary>Returns the length of a v1 segment after cutting a torn tail (if any).</summary>
    internal static long CutTornTail(string path, string tenant, ILogger logger)
    {
        var bytes = File.ReadAllBytes(path);
        long good = ScanCompleteFrames(bytes, tenant, out var tornCode, out var corruptAt);
        if (corruptAt >= 0)
        {
            StorageLog.SegmentCorrupt(logger, path, corruptAt, tornCode!);
            return bytes.Length;
        }

        if (good < bytes.Length)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None);
            stream.SetLength(good);
            stream.Flush(flushToDisk: true);
            StorageLog.TornTailCut(logger, path, tornCode!, bytes.Length - good, good);
        }

        return good;
    }

    /// <summary>
    /// Length of the prefix made of complete frames. A defect at the end is a torn tail (<paramref name="code"/>
    /// set, <paramref name="corruptAt"/> = -1); a defect followed by more frames is corruption (<paramref name="corruptAt"/> ≥ 0).
    /// </summary>
    internal static long ScanCompleteFrames(ReadOnlySpan<byte> segment, string tenant, out string? code, out long corruptAt)
    {
        code = null;
        corruptAt = -1;
        int pos = 0;
        while (pos < segment.Length)
        {
            if (segment.Length - pos < StoreFormat.FrameLengthPrefix)
            {
                code = StoreCodes.PartialWrite;
                return pos;
            }

            uint length = BinaryPrimitives.ReadUInt32BigEndian(segment[pos..]);
            if (length == 0 || length > (uint)(segment.Length - pos - StoreFormat.FrameLengthPrefix))
            {
                code = StoreCodes.PartialWrite;
                return pos;
            }

            int end = pos + StoreFormat.FrameLengthPrefix + (int)length;
            string? headerCode = HeaderProblem(segment[(pos + StoreFormat.FrameLengthPrefix)..end], tenant);
            if (headerCode is not null)
            {
                code = headerCode;
                if (end < segment.Length)
                {
                    corruptAt = pos;
                    return segment.Length;
                }

                return pos;
            }

            pos = end;
        }

        return pos;
    }

    private static string? HeaderProblem(ReadOnlySpan<byte> frame, string tenant)
    {
        try
        {
            var info = Sealer.ReadHeader(frame);
            return info.ObjectKind != ObjectKind.WalSegment ? StoreCodes.KindMismatch
                : !string.Equals(info.Tenant, tenant, StringComparison.Ordinal) ? StoreCodes.TenantMismatch
                : null;
        }
        catch (SealedIntegrityException e)
        {
            return e.Code;
        }
    }
}
