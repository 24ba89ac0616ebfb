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
/// last forwarder to pass it deletes it.</item>
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
    /// `s3`: the object at <paramref name="localKey"/> (`blocks/TENANT/…`) is in the bucket. True when its local copy
    /// must stay because a forwarder still reads it; the last one to pass it deletes it.
    /// </summary>
    public bool KeepUploaded(string localKey)
    {
        var parts = localKey.Split('/');
        if (parts.Length < 3 || parts[0] != StoreFormat.BlocksDir || SegmentId(parts[^1]) is not { } id)
        {
            return false;
        }

        var walDir = Path.Combine(root, StoreFormat.WalDir, parts[1]);
        lock (_lock)
        {
            // Under the lock, so that Passed either sees the entry or has deleted the key header already.
            var keyHeader = Directory.Exists(walDir) ? Directory.EnumerateFiles(walDir, "*-" + id + WalFeed.KeyHeaderExtension).FirstOrDefault() : null;
            if (keyHeader is null)
            {
                return false;
            }

            _uploaded[keyHeader] = Path.Combine(root, localKey.Replace('/', Path.DirectorySeparatorChar));
            return true;
        }
    }

    /// <summary>Every forwarder passed the segment: its key header goes, and its local copy if it is in the bucket already.</summary>
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
            // key header whose forwarders passed it; a local copy already in the bucket is uploaded again, the same bytes).
        }
    }
}
