using TraceSeal.Storage;
using Microsoft.Extensions.Logging;
using TraceSeal.Sealing;
using TraceSeal.Sealing.Files;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;

namespace TraceSeal.Collector.Storage.Wal;

/// <summary>
/// Start-up recovery of the WAL segments an earlier run left behind, WITHOUT keys (the collector has none):
///
/// 1. Torn tail (and zero fill: a direct-I/O writer's zeros after the last frame, cut silently). The writer writes each frame as one positioned write, length prefix first, and fsyncs
///    only complete frames before acknowledging. So after a crash only the last frame can be incomplete,
///    and it was never acknowledged. It is recognised by the one keyless walk, <see cref="LogScan"/>: for a v2
///    segment (a sealed log, docs/format.md §14.3) from lengths alone; for a v1 segment (its v1 mode, <c>LogScan.ScanV1</c>)
///    from fewer than 4 bytes left, a length of 0 or past end of file (`partial_write`), or a final frame whose
///    sealed header does not parse (`Sealer.ReadHeader`, §12.3). The file is truncated to the last complete frame and fsync'd. A
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
                length = CutTornTail(path, v1Tenant: null, logger);
            }
            else if (StoreFormat.TryParseSegmentStem(stem, out seq, out _))
            {
                // A v1 segment (per-frame sealed objects) left by an earlier version.
                length = CutTornTail(path, v1Tenant: tenant, logger);
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
    /// A v2 segment (a sealed log, docs/format.md §14), or with <paramref name="v1Tenant"/> a v1 segment of that tenant
    /// (§12.3): the one keyless walk (<see cref="LogScan"/>) finds the last whole frame; a torn frame after it was never
    /// acknowledged and is cut. Trailing data, a v1 segment whose frame fails before the last, or a file that is not a
    /// sealed log is kept as it is for readers to report. A segment that ends inside its header or holds no frame is
    /// empty (returns 0). The end frame cannot be added here (no key): readers accept a recovered segment without it.
    /// </summary>
    internal static long CutTornTail(string path, string? v1Tenant, ILogger logger)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        long length = RandomAccess.GetLength(file);
        LogScan scan;
        try
        {
            scan = v1Tenant is null ? LogScan.Scan(file) : LogScan.ScanV1(file, ObjectKind.WalSegment, v1Tenant);
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
            case LogTail.TrailingData or LogTail.Corrupt:
                StorageLog.SegmentCorrupt(logger, path, scan.CorruptAt >= 0 ? scan.CorruptAt : scan.GoodLength, scan.Code!);
                return length;
            case LogTail.Open when scan.GoodLength < length:
                // Zero fill after the last frame (the rest of a block written with direct I/O): cut, nothing to report.
                RandomAccess.SetLength(file, scan.GoodLength);
                RandomAccess.FlushToDisk(file);
                break;
            case LogTail.Torn:
                RandomAccess.SetLength(file, scan.GoodLength);
                RandomAccess.FlushToDisk(file);
                StorageLog.TornTailCut(logger, path, scan.Code!, length - scan.GoodLength, scan.GoodLength);
                break;
        }

        return scan.DataFrames == 0 ? 0 : scan.GoodLength;
    }
}
