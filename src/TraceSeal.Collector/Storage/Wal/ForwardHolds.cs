using System.Security.Cryptography;
using System.Text;
using TraceSeal.Sealing.Files;
using TraceSeal.Storage;
using TraceSeal.Storage.Format;

namespace TraceSeal.Collector.Storage.Wal;

/// <summary>
/// The segments of a store that a forwarder reading its WAL has not passed yet (docs/format.md §14.11): exactly those
/// with a key header, `wal/TENANT/SEQ-ID.walkey`, which is written when the segment begins and deleted (here, in
/// <see cref="Passed"/>) once every forwarder has passed it. While a segment is held, nothing removes its local copy —
/// the closed segment as `blocks/…/ID.block`, or a recovered `SEQ-ID.walseg`:
/// <list type="bullet">
/// <item>retention skips it (<see cref="Retention"/>: as if it were deleted, so it costs no newer block; disk use
/// may exceed `retention::max_bytes` by what the forwarders hold, which `wal::max_backlog_bytes` bounds per forwarder
/// and tenant, with retryable refusals);</item>
/// <item>with `s3` the uploader puts it into the bucket but keeps the local file (<see cref="KeepUploaded"/>); the
/// last forwarder to pass it deletes it. That the file is in the bucket is remembered across restarts by a marker
/// beside the key header, `wal/TENANT/SEQ-ID.uploaded` (<see cref="InBucket"/>), so a restart does not put it again:
/// it only deletes the local copy once the forwarders passed it.</item>
/// </list>
/// A forwarder whose upstream is down therefore holds back only its own cursor, never loses data silently, and a
/// restart finds every held segment where recovery looks for it.
/// </summary>
internal sealed class ForwardHolds(string root)
{
    private readonly Lock _lock = new();

    /// <summary>Held segments already in the bucket (`s3`), by key header path: the local file the last forwarder deletes.</summary>
    private readonly Dictionary<string, string> _uploaded = new(StringComparer.Ordinal);

    /// <summary>
    /// The segment id of a unit file under `blocks/` (`ID.block` or `SEQ-ID.walseg`); null for any other file (an
    /// index or summary is never held: a forwarder reads only the segment).
    /// </summary>
    public static string? SegmentId(string fileName)
    {
        var extension = Path.GetExtension(fileName);
        var stem = Path.GetFileNameWithoutExtension(fileName);
        return extension == StoreFormat.BlockExtension && stem.Length == 16 ? stem
            : extension == StoreFormat.RecoveredExtension && StoreFormat.TryParseLogStem(stem, out _, out var id) ? id
            : null;
    }

    /// <summary>
    /// `s3`: whether the object at <paramref name="localKey"/> (`blocks/TENANT/…`) was put at <paramref name="location"/>
    /// (the bucket's name for it) by an earlier run while a forwarder held it: its marker says so. Then the uploader
    /// does not put it again (a bucket whose retention or a compaction removed it meanwhile does not get it back).
    /// </summary>
    public bool InBucket(string localKey, string location)
    {
        if (Marker(localKey) is not { } marker)
        {
            return false;
        }

        try
        {
            return File.ReadAllText(marker) == MarkerText(location);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // unreadable (or just deleted): putting the same bytes again is safe
        }
    }

    /// <summary>
    /// `s3`: the object at <paramref name="localKey"/> (`blocks/TENANT/…`) is in the bucket at <paramref name="location"/>.
    /// True when its local copy must stay because a forwarder still reads it; the last one to pass it deletes it. A held
    /// object gets its marker (`SEQ-ID.uploaded` beside its key header, written atomically) before this returns, so
    /// that a restart does not upload it again.
    /// </summary>
    public bool KeepUploaded(string localKey, string location)
    {
        if (Locate(localKey) is not var (walDir, id))
        {
            return false;
        }

        lock (_lock)
        {
            // Under the lock, so that Passed either sees the entry or has deleted the key header already.
            var keyHeader = Directory.Exists(walDir) ? Directory.EnumerateFiles(walDir, "*-" + id + WalFeed.KeyHeaderExtension).FirstOrDefault() : null;
            if (keyHeader is null)
            {
                return false;
            }

            var marker = Path.ChangeExtension(keyHeader, StoreFormat.UploadedExtension);
            if (!InBucket(localKey, location))
            {
                try
                {
                    AtomicFile.TryDelete(marker);
                    AtomicFile.Write(walDir, Path.GetFileName(marker), Encoding.ASCII.GetBytes(MarkerText(location)));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // A full disk: the object is in the bucket all the same; only a restart before the forwarders
                    // passed it puts it again (the same bytes under the same key).
                }
            }

            _uploaded[keyHeader] = Path.Combine(root, localKey.Replace('/', Path.DirectorySeparatorChar));
            return true;
        }
    }

    /// <summary>`s3`: the uploader deleted the local copy at <paramref name="localKey"/> (no forwarder holds it): its marker, if any, goes too.</summary>
    public void LocalCopyDeleted(string localKey)
    {
        if (Marker(localKey) is { } marker)
        {
            AtomicFile.TryDelete(marker);
            FsyncParent(marker);
        }
    }

    /// <summary>
    /// `s3`, at start: markers whose local copy is gone (a crash between deleting the copy and its marker, or a copy
    /// removed outside the collector) are deleted; <paramref name="localKeys"/> are the objects under the local `blocks/`.
    /// </summary>
    public void DeleteStaleMarkers(IEnumerable<string> localKeys)
    {
        var walRoot = Path.Combine(root, StoreFormat.WalDir);
        if (!Directory.Exists(walRoot))
        {
            return;
        }

        var local = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in localKeys)
        {
            if (Locate(key) is var (walDir, id))
            {
                local.Add(Path.Combine(walDir, id));
            }
        }

        foreach (var walDir in Directory.EnumerateDirectories(walRoot))
        {
            foreach (var marker in Directory.EnumerateFiles(walDir, "*" + StoreFormat.UploadedExtension))
            {
                if (StoreFormat.TryParseLogStem(Path.GetFileNameWithoutExtension(marker), out _, out var id) && !local.Contains(Path.Combine(walDir, id)))
                {
                    AtomicFile.TryDelete(marker);
                    FsyncParent(marker);
                }
            }
        }
    }

    /// <summary>What a marker holds: the SHA-256 of the object's location in the bucket, 64 lowercase hex digits and a newline (docs/format.md §14.11).</summary>
    public static string MarkerText(string location) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(location))) + "\n";

    /// <summary>The tenant's WAL directory and the segment id of a unit file under `blocks/TENANT/`; null for any other key.</summary>
    private (string WalDir, string Id)? Locate(string localKey)
    {
        var parts = localKey.Split('/');
        if (parts.Length < 3 || parts[0] != StoreFormat.BlocksDir || !StoreFormat.IsValidTenant(parts[1]) || SegmentId(parts[^1]) is not { } id)
        {
            return null;
        }

        return (Path.Combine(root, StoreFormat.WalDir, parts[1]), id);
    }

    private string? Marker(string localKey) =>
        Locate(localKey) is var (walDir, id) && Directory.Exists(walDir)
            ? Directory.EnumerateFiles(walDir, "*-" + id + StoreFormat.UploadedExtension).FirstOrDefault()
            : null;

    /// <summary>
    /// Every forwarder passed the segment: its key header goes, and its local copy if it is in the bucket already (then
    /// its marker last: a crash in between leaves a marker without a copy, which the next start deletes). A copy not
    /// yet registered here (a restart, before the uploader reached it) keeps its marker: the uploader finds it, does
    /// not put the copy again, and deletes both.
    /// </summary>
    public void Passed(string keyHeaderPath)
    {
        string? uploaded;
        lock (_lock)
        {
            if (File.Exists(keyHeaderPath))
            {
                AtomicFile.TryDelete(keyHeaderPath);
                FsyncParent(keyHeaderPath);
            }

            _uploaded.Remove(keyHeaderPath, out uploaded);
        }

        if (uploaded is not null)
        {
            AtomicFile.TryDelete(uploaded);
            FsyncParent(uploaded);
            AtomicFile.TryDelete(Path.ChangeExtension(keyHeaderPath, StoreFormat.UploadedExtension));
            FsyncParent(keyHeaderPath);
        }
    }

    private static void FsyncParent(string path)
    {
        try
        {
            DirectorySync.Fsync(Path.GetDirectoryName(path)!);
        }
        catch (IOException)
        {
            // Deleted but perhaps not yet durably: a crash brings it back, and the next start deletes it again (a
            // key header whose forwarders passed it; a local copy already in the bucket, by its marker, without a put).
        }
    }
}
