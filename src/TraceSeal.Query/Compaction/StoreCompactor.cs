using System.Diagnostics;
using System.Globalization;
using TraceSeal.Sealing;
using TraceSeal.Storage;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Objects;

namespace TraceSeal.Query.Compaction;

/// <summary>What `traceseal compact` does in one pass; the defaults are the command's.</summary>
public sealed record CompactionOptions
{
    /// <summary>64 MiB, a collector's block::max_bytes: blocks under half of it are merged, up to this size per output.</summary>
    public long TargetBlockBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// 1 minute: a block is used only once every object of it (block, index, summary) was written at least this long
    /// ago, so a cut still writing its summary (or an upload still putting it) is left for the next pass.
    /// </summary>
    public TimeSpan MinAge { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>1 MiB: plaintext per frame of a merged block (a query opens the frames its records are in, one by one).</summary>
    public int FrameBytes { get; init; } = 1024 * 1024;
}

/// <summary>What one pass did.</summary>
public sealed record CompactionReport(int Buckets, int BlocksMerged, int BlocksWritten, int ManifestsWritten, int ObjectsDeleted, int ObjectsBefore, int ObjectsAfter);

/// <summary>
/// Reader-side compaction (docs/format.md §15.4): per hour bucket, merges small v2 blocks into large ones with merged
/// indexes and summaries, and commits the bucket's blocks in a manifest. It holds an identity (to read) and the
/// recipients (to seal): every merged block is a new sealed log with a fresh key, never a re-encryption in place.
///
/// Atomic and resumable, on the filesystem and on object storage, while collectors write and readers read: (1) the
/// outputs are written — summary, index, then block — and are ignored by readers while their inputs are listed;
/// (2) a manifest of the next generation names them (the switch: one atomic put of a new name); (3) the inputs and
/// the older manifest are deleted, and readers skip the inputs by the manifest meanwhile. A pass killed anywhere
/// leaves a store that reads complete and without duplicates; the next pass first deletes what the earlier one left
/// (replaced inputs, uncommitted outputs, old manifests). One compactor per store at a time (on the filesystem a
/// lock file says so; on object storage run one).
/// </summary>
public sealed class StoreCompactor
{
    private const string LockFile = "compact.lock";

    private readonly IObjectStore _store;
    private readonly IReadOnlyList<IIdentity> _identities;
    private readonly IReadOnlyList<IRecipient> _recipients;
    private readonly CompactionOptions _options;
    private readonly TimeProvider _time;
    private readonly string? _lockPath;

    /// <summary>A filesystem store (sealed_store::directory).</summary>
    public StoreCompactor(string directory, IReadOnlyList<IIdentity> identities, IReadOnlyList<IRecipient> recipients, CompactionOptions options)
        : this(new FileSystemObjectStore(CheckDirectory(directory)), identities, recipients, options)
    {
        _lockPath = Path.Combine(Path.GetFullPath(directory), LockFile);
    }

    /// <summary>Object storage: every collector's prefix below `s3://BUCKET/PREFIX`.</summary>
    public StoreCompactor(S3StoreLocation location, IReadOnlyList<IIdentity> identities, IReadOnlyList<IRecipient> recipients, CompactionOptions options)
        : this(CheckLocation(location).CreateStore(), identities, recipients, options)
    {
    }

    internal StoreCompactor(IObjectStore store, IReadOnlyList<IIdentity> identities, IReadOnlyList<IRecipient> recipients, CompactionOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(identities);
        ArgumentNullException.ThrowIfNull(recipients);
        ArgumentNullException.ThrowIfNull(options);
        if (recipients.Count == 0)
        {
            throw new ArgumentException("at least one recipient is required: merged blocks are sealed to them", nameof(recipients));
        }

        _store = store;
        _identities = identities;
        _recipients = recipients;
        _options = options;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>One pass over every bucket. Throws <see cref="StoreIntegrityException"/> or <see cref="StoreAccessException"/> as a query would.</summary>
    public CompactionReport Run(Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        using var held = _lockPath is null ? null : DirectoryLock.TryTake(_lockPath)
            ?? throw new InvalidOperationException($"{_lockPath} is held: another `traceseal compact` runs on this store");
        var reader = new StoreReader(_store, _identities, seesLiveWal: false, new StoreReaderOptions { IndexCacheBytes = 0 });
        int before = CountObjects();
        var state = reader.CompactionState();
        int merged = 0, written = 0, manifests = 0, deleted = 0;
        foreach (var bucket in state)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var watch = Stopwatch.StartNew();
            var (bucketMerged, bucketWritten, bucketManifests, bucketDeleted) = CompactBucket(reader, bucket, cancellationToken);
            merged += bucketMerged;
            written += bucketWritten;
            manifests += bucketManifests;
            deleted += bucketDeleted;
            if (bucketManifests + bucketDeleted > 0)
            {
                progress?.Invoke(string.Create(CultureInfo.InvariantCulture,
                    $"{_store.Describe(bucket.Dir)}: merged {bucketMerged} block(s) into {bucketWritten}, manifest generation {bucket.Generation + (ulong)bucketManifests}, deleted {bucketDeleted} object(s) ({watch.Elapsed.TotalSeconds:0.0} s)"));
            }
        }

        return new CompactionReport(state.Count, merged, written, manifests, deleted, before, CountObjects());
    }

    private (int Merged, int Written, int Manifests, int Deleted) CompactBucket(StoreReader reader, CompactionBucket bucket, CancellationToken cancellationToken)
    {
        // 1. What an interrupted pass left: replaced inputs, uncommitted outputs, older manifests.
        int deleted = 0;
        foreach (var key in bucket.Leftovers)
        {
            deleted += Delete(key);
        }

        // 2. Plan: blocks under half the target merge (oldest spans first) into outputs up to the target; blocks not yet
        //    in the manifest join it as they are. Only blocks with the same services merge: a summary lists services per
        //    block, so merging a rare service's block into a busy one would make a search for it read the busy one.
        var now = _time.GetUtcNow();
        var usable = bucket.Candidates.Where(c => c.Committed || now - c.Written >= _options.MinAge).ToList();

        //    A block a forwarder reading the collector's WAL has not passed (its key header exists, docs/format.md §14.11)
        //    is not merged: the forwarder finds it by its name after a restart. It joins the manifest as it is.
        //    (Only on the filesystem: with `s3` a forwarder reads the collector's local copy, not the bucket's.)
        var held = _store is FileSystemObjectStore local ? StoreFormat.ForwardHeldIds(local.Root, bucket.Tenant) : [];
        var small = usable.Where(c => c.BlockSize < _options.TargetBlockBytes / 2 && !held.Contains(Path.GetFileNameWithoutExtension(c.BlockKey)))
            .OrderBy(c => ServiceKey(c.Summary), StringComparer.Ordinal).ThenBy(c => c.Summary.MinStart).ThenBy(c => c.BlockKey, StringComparer.Ordinal).ToList();
        var groups = new List<List<CompactionCandidate>>();
        var group = new List<CompactionCandidate>();
        long groupBytes = 0;
        foreach (var c in small)
        {
            if (group.Count > 0 && (groupBytes + c.BlockSize > _options.TargetBlockBytes
                                    || !string.Equals(ServiceKey(group[0].Summary), ServiceKey(c.Summary), StringComparison.Ordinal)))
            {
                groups.Add(group);
                group = [];
                groupBytes = 0;
            }

            group.Add(c);
            groupBytes += c.BlockSize;
        }

        groups.Add(group);
        groups.RemoveAll(g => g.Count < 2);
        var merging = groups.SelectMany(g => g).ToHashSet();
        var entries = usable.Where(c => !merging.Contains(c)).Select(c => c.Summary).ToList();
        bool adopts = usable.Any(c => !c.Committed && !merging.Contains(c));
        if (groups.Count == 0 && !adopts)
        {
            foreach (var key in bucket.OldManifests)
            {
                deleted += Delete(key);
            }

            return (0, 0, 0, deleted);
        }

        // 3. The outputs: summary, index, block (readers ignore them until the manifest names them).
        foreach (var inputs in groups)
        {
            cancellationToken.ThrowIfCancellationRequested();
            entries.Add(new BlockMerger(reader, bucket, _recipients, _options.FrameBytes).Merge(inputs, Put));
        }

        // 4. The switch: the next generation's manifest, a new name put atomically.
        ulong generation = bucket.Generation + 1;
        var manifest = new BucketManifest { Generation = generation, Bucket = bucket.Bucket, Entries = entries };
        Put($"{bucket.Dir}/{BucketManifest.FileName(generation)}", Sealer.Seal(manifest.Encode(), ObjectKind.Index, bucket.Tenant, _recipients));

        // 5. The inputs (readers skip them by the manifest meanwhile), then every older manifest.
        foreach (var input in merging)
        {
            var stem = input.BlockKey[..^StoreFormat.BlockExtension.Length];
            foreach (var extension in new[] { StoreFormat.SummaryExtension, StoreFormat.IndexExtension, StoreFormat.BlockExtension })
            {
                deleted += Delete(stem + extension);
            }
        }

        foreach (var key in bucket.OldManifests.Append(bucket.Generation == 0 ? null : $"{bucket.Dir}/{BucketManifest.FileName(bucket.Generation)}"))
        {
            deleted += key is null ? 0 : Delete(key);
        }

        return (merging.Count, groups.Count, 1, deleted);
    }

    /// <summary>What a service search sees of a block: its services (all of them, when the list overflowed).</summary>
    private static string ServiceKey(BlockSummary s) =>
        (s.Flags & BlockIndex.ServicesOverflow) != 0 ? "\u0001overflow" : string.Join('\n', s.Services);

    private void Put(string key, byte[] data) => _store.PutAsync(key, data, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>1 when deleted, 0 when it was gone already (a pass resumed after a crash).</summary>
    private int Delete(string key)
    {
        try
        {
            _store.DeleteAsync(key, CancellationToken.None).GetAwaiter().GetResult();
            return 1;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return 0;
        }
    }

    private int CountObjects()
    {
        int count = 0;
        foreach (var entry in _store.ListAsync("", CancellationToken.None).GetAwaiter().GetResult())
        {
            count += StoreFormat.TryParseBlockKey(entry.Key, out _, out _, out _, out _) ? 1 : 0;
        }

        return count;
    }

    private static string CheckDirectory(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var root = Path.GetFullPath(directory);
        return Directory.Exists(root) ? root : throw new DirectoryNotFoundException($"{root}: no such store directory");
    }

    private static S3StoreLocation CheckLocation(S3StoreLocation location)
    {
        ArgumentNullException.ThrowIfNull(location);
        return location;
    }
}
