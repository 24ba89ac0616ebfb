using System.Buffers.Binary;
using TraceSeal.Otlp;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;
using TraceSeal.Storage.Objects;

namespace TraceSeal.Query;

/// <summary>One record of the store, opened and authenticated.</summary>
/// <param name="ObjectPath">The object it came from (block, recovered segment or live WAL segment): a path, or s3://BUCKET/PREFIX/KEY.</param>
public readonly record struct StoredRecord(string Tenant, OtlpSignal Signal, ReadOnlyMemory<byte> Payload, string ObjectPath);

/// <summary>
/// Reads a sealed store with identity keys (layout: docs/format.md §12, §14): a filesystem store directory, or
/// the blocks a collector uploaded to S3-compatible object storage (<see cref="S3StoreLocation"/>; live WAL
/// segments stay on the collectors' disks and are not visible there). Public: the CLI and a query service
/// build on it. Both layouts are read: v1 (a WAL segment is frames that are each a sealed object; a block is
/// one sealed object of records) and v2 (a segment is one sealed log, §14, and becomes a block by a rename).
///
/// Every object read is authenticated, and bound to its place (tenant directory, kind, name, index ↔
/// block, frame ↔ segment and position); any failure throws <see cref="StoreIntegrityException"/> naming the
/// object — it is never skipped. An object no offered identity can open throws <see cref="StoreAccessException"/>.
/// The one thing that is not an error is the last frame of a live WAL segment running past end of file:
/// the writer is still writing it (partial_write), and it was not acknowledged yet.
///
/// Live WAL segments are read before blocks are listed: a segment that disappears meanwhile became (v2) or
/// was folded into (v1) a block that the listing then finds. Nothing is returned twice: v1 segments an index
/// lists as folded are dropped; a v2 block with the object id of a live segment already read is skipped when
/// that read saw the complete log, else the block replaces it (it holds every frame the live read saw, and more).
///
/// Blocks whose index shows they cannot match a query are not decrypted (that is what the index is for):
/// their index is authenticated and must match the block's header and length. Of a v2 block (a sealed log)
/// whose index narrows a query to a few frames, only those frames and the end frame are fetched (ranged reads
/// on object storage) and opened, each authenticated at its position; the rest of the block is verified when
/// it is read. `traceseal verify data` checks what can be checked without keys.
/// </summary>
public sealed partial class StoreReader
{
    private readonly IObjectStore _store;
    private readonly IReadOnlyList<IIdentity> _identities;
    private readonly DecodedObjectCache? _cache;

    /// <summary>A filesystem store: sealed_store::directory of a collector without `s3`.</summary>
    public StoreReader(string directory, IReadOnlyList<IIdentity> identities)
        : this(directory, identities, new StoreReaderOptions())
    {
    }

    /// <summary>A filesystem store, with options for a long-lived reader (a query service): see <see cref="StoreReaderOptions"/>.</summary>
    public StoreReader(string directory, IReadOnlyList<IIdentity> identities, StoreReaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(identities);
        var root = Path.GetFullPath(directory);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"{root}: no such store directory");
        }

        _store = new FileSystemObjectStore(root);
        _identities = identities;
        _cache = NewCache(options);
        SeesLiveWal = true;
    }

    /// <summary>
    /// The blocks, indexes and recovered segments collectors uploaded to S3-compatible object storage: every collector's
    /// prefix below `s3://BUCKET/PREFIX` (`collectors/ID/`, or any prefix holding a `blocks/` tree, docs/format.md §15.3).
    /// </summary>
    public StoreReader(S3StoreLocation location, IReadOnlyList<IIdentity> identities)
        : this(location, identities, new StoreReaderOptions())
    {
    }

    /// <summary>Object storage, with options for a long-lived reader (a query service): see <see cref="StoreReaderOptions"/>.</summary>
    public StoreReader(S3StoreLocation location, IReadOnlyList<IIdentity> identities, StoreReaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(identities);
        ArgumentNullException.ThrowIfNull(options);
        _store = location.CreateStore();
        _identities = identities;
        _cache = NewCache(options);
        SeesLiveWal = false;
    }

    /// <summary>Tests and compaction: any object store.</summary>
    internal StoreReader(IObjectStore store, IReadOnlyList<IIdentity> identities, bool seesLiveWal, StoreReaderOptions? options = null)
    {
        _store = store;
        _identities = identities;
        _cache = NewCache(options ?? new StoreReaderOptions());
        SeesLiveWal = seesLiveWal;
    }

    /// <summary>Estimated bytes of decrypted manifests, summaries and indexes held in memory (<see cref="StoreReaderOptions.IndexCacheBytes"/>).</summary>
    public long CachedBytes => _cache?.Bytes ?? 0;

    private static DecodedObjectCache? NewCache(StoreReaderOptions options) =>
        options.IndexCacheBytes > 0 ? new DecodedObjectCache(options.IndexCacheBytes) : null;

    /// <summary>
    /// False for object storage: spans acknowledged but not yet cut into a block (at most `block::max_age`,
    /// or longer while uploads fail) are only in the collectors' local WALs and not returned.
    /// </summary>
    public bool SeesLiveWal { get; }

    /// <summary>Tenants with a WAL segment or a block-store object, under any root (docs/format.md §15.3).</summary>
    public IReadOnlyList<string> Tenants()
    {
        var set = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var entry in ListStore())
        {
            if (TenantOf(entry.Key) is { } tenant)
            {
                set.Add(tenant);
            }
        }

        return [.. set];
    }

    /// <summary>Frames of sealed logs (v2) opened so far, end frames included: tests see how much a query read.</summary>
    internal long FramesOpened { get; private set; }

    /// <summary>Indexes decrypted so far (not taken from the cache): tests see what a query opened.</summary>
    internal long IndexesOpened { get; private set; }

    /// <summary>Summaries decrypted so far (not taken from the cache).</summary>
    internal long SummariesOpened { get; private set; }

    /// <summary>Manifests decrypted so far (not taken from the cache).</summary>
    internal long ManifestsOpened { get; private set; }

    /// <summary>
    /// Every record of every signal in a tenant, in write order as far as the store records it: by object (v1: its WAL
    /// sequence number; v2: the creation second in the log's header; ties by object name, a random id), then in log order.
    /// </summary>
    public IReadOnlyList<StoredRecord> ReadRecords(string tenant) => Read(tenant, prune: null);

    /// <summary>Runs a trace query over the store; the spans come back in time order (<see cref="QueryResult"/>), not in read order.</summary>
    public QueryResult Query(TraceQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        query = WithSeededIds(query);
        var tenants = query.Tenant is null ? Tenants() : [query.Tenant];
        var matcher = new SpanMatcher(query);
        foreach (var tenant in tenants)
        {
            foreach (var record in Read(tenant, query))
            {
                if (record.Signal == OtlpSignal.Traces)
                {
                    matcher.Add(record);
                }
            }
        }

        return matcher.Result();
    }

    /// <summary>
    /// <see cref="TraceQuery.TraceIds"/> is probed once per span and per index entry: a set a caller made with the default
    /// UInt128 hash (which folds X‖X‖Y‖Y ids into one bucket) is copied into one with the seeded comparer.
    /// </summary>
    private static TraceQuery WithSeededIds(TraceQuery query) =>
        query.TraceIds is { } ids && !(ids is HashSet<UInt128> set && ReferenceEquals(set.Comparer, TraceIdComparer.Instance))
            ? query with { TraceIds = new HashSet<UInt128>(ids, TraceIdComparer.Instance) }
            : query;

    /// <summary>A tenant's records. A block or manifest listed but gone when read (a compaction replaced it, retention removed it) means: list again.</summary>
    private List<StoredRecord> Read(string tenant, TraceQuery? prune)
    {
        if (!StoreFormat.IsValidTenant(tenant))
        {
            throw new ArgumentException($"invalid tenant name \"{tenant}\"");
        }

        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return ReadOnce(tenant, prune);
            }
            catch (StoreIntegrityException e) when (e.Code == StoreCodes.BlockMissing && attempt < MaxListingAttempts)
            {
                // Listed, then deleted before it was read: the listing is stale. A block deleted for good is reported
                // on the last attempt.
            }
        }
    }

    /// <summary>How often a read lists the store again after an object it listed disappeared (compaction swaps objects while readers read).</summary>
    private const int MaxListingAttempts = 5;

    private List<StoredRecord> ReadOnce(string tenant, TraceQuery? prune)
    {
        // 1. Live WAL first (see the class comment for why the order matters). Keys, not paths, from here on:
        //    `wal/TENANT/NAME.wal`, `[ROOT/]blocks/TENANT/yyyy/MM/dd/HH/NAME.ext` in either store.
        var (live, liveLogs) = ReadLive(tenant);

        // 2. Blocks, indexes, summaries, manifests and recovered segments, bucket by bucket, under every root.
        var sources = new List<Source>();
        var covered = new HashSet<IndexedSegment>();
        var buckets = PlanBuckets(tenant, prune, liveLogs, covered);
        foreach (var plan in buckets)
        {
            ReadBucket(plan, tenant, prune, liveLogs, covered, sources);
        }

        foreach (var source in live)
        {
            if (!source.Superseded && (source.Segment is not { } segment || !covered.Contains(segment)))
            {
                sources.Add(source);
            }
        }

        sources.Sort(static (a, b) => a.Order != b.Order ? a.Order.CompareTo(b.Order) : string.CompareOrdinal(a.Path, b.Path));
        var result = new List<StoredRecord>();
        foreach (var source in sources)
        {
            result.AddRange(source.Records);
        }

        return result;
    }

    /// <summary>
    /// The first pass of a search (<see cref="TraceSearch"/>): which traces match, reading the newest blocks first and
    /// stopping once no older block can change the answer. Blocks the summaries rule out are not read (as in
    /// <see cref="Query"/>); the live WAL is read first (it is the newest), then blocks by the latest span end their
    /// summary (or index) records, newest first. Before each block, <see cref="SpanMatcher.OldestWanted"/> says how
    /// recent a span must be to enter the <see cref="TraceQuery.Limit"/> most recent traces found so far: a block whose
    /// every span ended before that is not read, nor any older one. Nothing is de-duplicated here (the first pass keeps
    /// only trace ids and their earliest start, which a span read twice does not change).
    /// </summary>
    internal QueryResult SearchTraceIds(TraceQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var ids = WithSeededIds(query) with { IdsOnly = true };
        var tenants = ids.Tenant is null ? Tenants() : [ids.Tenant];
        var matcher = new SpanMatcher(ids);
        foreach (var tenant in tenants)
        {
            if (!StoreFormat.IsValidTenant(tenant))
            {
                throw new ArgumentException($"invalid tenant name \"{tenant}\"");
            }

            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    SearchNewestFirst(tenant, ids, matcher);
                    break;
                }
                catch (StoreIntegrityException e) when (e.Code == StoreCodes.BlockMissing && attempt < MaxListingAttempts)
                {
                    // Listed, then deleted before it was read (see Read): list again. What was added stays (ids only).
                }
            }
        }

        return matcher.Result();
    }

    private void SearchNewestFirst(string tenant, TraceQuery query, SpanMatcher matcher)
    {
        var (live, liveLogs) = ReadLive(tenant);
        foreach (var source in live)
        {
            Add(matcher, source);
        }

        var covered = new HashSet<IndexedSegment>();
        var reads = new List<(ulong MaxEnd, string Key, IndexCheck? Check, Func<IndexCheck?>? Deferred, bool Recovered)>();
        foreach (var plan in PlanBuckets(tenant, query, liveLogs, covered, lazyIndexes: true))
        {
            foreach (var (key, check, maxEnd, deferred) in plan.Blocks)
            {
                reads.Add((maxEnd, key, check, deferred, false));
            }

            foreach (var key in plan.Recovered)
            {
                reads.Add((ulong.MaxValue, key, null, null, true)); // no summary says how recent it is
            }
        }

        reads.Sort(static (a, b) => a.MaxEnd != b.MaxEnd ? b.MaxEnd.CompareTo(a.MaxEnd) : string.CompareOrdinal(a.Key, b.Key));
        foreach (var (maxEnd, key, planned, deferred, recovered) in reads)
        {
            if (maxEnd < matcher.OldestWanted())
            {
                break; // this block and every one after it ended before the oldest trace kept began
            }

            if (recovered)
            {
                Add(matcher, ReadRecovered(key, tenant));
                continue;
            }

            var check = planned ?? deferred?.Invoke();
            if (check is { Index.Version: StoreFormat.IndexVersion2 })
            {
                if (!(liveLogs.TryGetValue(check.Header.ObjectId, out var liveRead) && liveRead.Complete))
                {
                    ReadNewestRecords(key, tenant, check, query, matcher);
                }

                continue; // else read already, all of it, as the live segment it was
            }

            if (ReadBlock(key, tenant, check, query, liveLogs) is { } source)
            {
                Add(matcher, source);
            }
        }
    }

    /// <summary>
    /// Of a v2 block (a sealed log with an index v2), the records the index lets through, newest first by the latest
    /// span end the index records for each: the frames of the newest 2, then 4, 8... records are fetched by themselves
    /// (<see cref="ReadFrames"/>) until the matcher has what it needs, or beyond <see cref="MaxRangedFrames"/> frames
    /// the rest is read with the block in one piece. A search with no filter reads a frame or two of the newest block.
    /// </summary>
    private void ReadNewestRecords(string key, string tenant, IndexCheck check, TraceQuery query, SpanMatcher matcher)
    {
        var records = check.Index.Records;
        var selected = SelectRecords(check.Index, query);
        selected.Sort((a, b) => records[b].MaxEnd != records[a].MaxEnd ? records[b].MaxEnd.CompareTo(records[a].MaxEnd) : a.CompareTo(b));
        int next = 0, batch = 2, framesRead = 0;
        while (next < selected.Count && records[selected[next]].MaxEnd >= matcher.OldestWanted())
        {
            int take = Math.Min(batch, selected.Count - next);
            var part = selected.GetRange(next, take);
            int frames = CountFrames(check.Index, part);
            if (framesRead + frames > MaxRangedFrames)
            {
                // The rest in one read of the block (one GET on object storage instead of a ranged one per frame).
                Add(matcher, ReadLog(key, tenant, Get(key, StoreCodes.BlockMissing), LogPlace.Block, check, selected.GetRange(next, selected.Count - next)));
                return;
            }

            Add(matcher, ReadFrames(key, tenant, check, part));
            framesRead += frames;
            next += take;
            batch *= 2;
        }
    }

    private static void Add(SpanMatcher matcher, Source source)
    {
        foreach (var record in source.Records)
        {
            if (record.Signal == OtlpSignal.Traces)
            {
                matcher.Add(record);
            }
        }
    }

    /// <summary>The tenant's live WAL segments, read (none when the store's WAL is not visible), and those that are sealed logs by object id.</summary>
    private (List<Source> Live, Dictionary<string, Source> ByObjectId) ReadLive(string tenant)
    {
        var live = new List<Source>();
        var liveLogs = new Dictionary<string, Source>(StringComparer.Ordinal);
        if (SeesLiveWal)
        {
            foreach (var entry in Wait(_store.ListAsync($"{StoreFormat.WalDir}/{tenant}/", CancellationToken.None)))
            {
                if (!entry.Key.EndsWith(StoreFormat.WalExtension, StringComparison.Ordinal))
                {
                    continue;
                }

                var bytes = Wait(_store.GetAsync(entry.Key, firstBytes: null, CancellationToken.None));
                if (bytes is null)
                {
                    continue; // became (or was folded into) a block meanwhile; the block listing below finds it
                }

                // A v2 segment (16 hex digits of id in its name) may not have its header yet: it goes out with the first frame.
                var source = StoreFormat.HasSealedMagic(bytes) || StoreFormat.TryParseLogStem(Path.GetFileNameWithoutExtension(entry.Key), out _, out _)
                    ? ReadLog(entry.Key, tenant, bytes, LogPlace.Live, check: null, selected: null)
                    : ReadSegmentV1(entry.Key, tenant, bytes, live: true);
                live.Add(source);
                if (source.ObjectId is { } id)
                {
                    liveLogs[id] = source;
                }
            }
        }

        return (live, liveLogs);
    }

    /// <summary>Authenticates an index and checks it against the head of the block next to it (the block is not read in full here).</summary>
    private IndexCheck ReadIndex(string key, string tenant, Dictionary<string, long> sizes)
    {
        var path = _store.Describe(key);
        var stem = Path.GetFileNameWithoutExtension(key);
        var blockKey = key[..^StoreFormat.IndexExtension.Length] + StoreFormat.BlockExtension;
        var blockPath = _store.Describe(blockKey);
        var plain = Open(path, Get(key, StoreCodes.BlockMissing), ObjectKind.Index, tenant, where: null);
        if (!BlockIndex.TryDecode(plain, out var decoded))
        {
            throw new StoreIntegrityException(path, StoreCodes.IndexMalformed);
        }

        var index = decoded!;

        // The index must describe exactly this block: same object id (unauthenticated here, authenticated
        // when the block is opened) and length; and the block's name is its object id. Only the block's
        // head is fetched: a block the index rules out is never downloaded in full.
        var head = sizes.TryGetValue(blockKey, out var blockLength) ? Wait(_store.GetAsync(blockKey, 64 * 1024, CancellationToken.None)) : null;
        if (head is null)
        {
            throw new StoreIntegrityException(path, StoreCodes.BlockMissing);
        }

        SealedObjectInfo header;
        try
        {
            header = Sealer.ReadHeader(head);
        }
        catch (SealedIntegrityException e)
        {
            throw new StoreIntegrityException(blockPath, e.Code);
        }

        // Either file may be the one that changed: name the block, say which index disagrees.
        var mismatch = $"(its index {Path.GetFileName(path)} describes another object)";
        if (index.Version == StoreFormat.IndexVersion2)
        {
            // A block that is a sealed log (§14): the segment, renamed.
            if (header.Version != StoreFormat.SealedLogVersion)
            {
                throw new StoreIntegrityException(blockPath, StoreCodes.IndexMismatch, mismatch);
            }

            if (header.ObjectKind != ObjectKind.WalSegment)
            {
                throw new StoreIntegrityException(blockPath, StoreCodes.KindMismatch);
            }

            if (!string.Equals(header.ObjectId, Convert.ToHexStringLower(index.BlockObjectId), StringComparison.Ordinal)
                || !FramesFitLength(index, header.HeaderLength, blockLength))
            {
                throw new StoreIntegrityException(blockPath, StoreCodes.IndexMismatch, mismatch);
            }
        }
        else
        {
            if (header.ObjectKind != ObjectKind.Block)
            {
                throw new StoreIntegrityException(blockPath, StoreCodes.KindMismatch);
            }

            // The length is compared after the header: `keys rewrap` changes the header (one stanza per recipient)
            // but never the payload, whose length follows from the plaintext length (§5). For a block as written
            // this is the same check as block_sealed_length == file length.
            if (!string.Equals(header.ObjectId, Convert.ToHexStringLower(index.BlockObjectId), StringComparison.Ordinal)
                || blockLength - header.HeaderLength != SealedPayloadLength(index.BlockPlainLength))
            {
                throw new StoreIntegrityException(blockPath, StoreCodes.IndexMismatch, mismatch);
            }
        }

        if (!string.Equals(stem, StoreFormat.BlockStemFromObjectId(header.ObjectId), StringComparison.Ordinal))
        {
            throw new StoreIntegrityException(blockPath, StoreCodes.NameMismatch);
        }

        // Only the header is kept (a cached check holds what opening the block's frames needs, not 64 KiB of it).
        return new IndexCheck(index, head.AsSpan(0, Math.Min(head.Length, header.HeaderLength)).ToArray(), header, blockLength);
    }

    /// <summary>A listed object; gone by the time it is read (retention, a concurrent delete) is <paramref name="missingCode"/>, never a silent skip.</summary>
    private byte[] Get(string key, string missingCode) =>
        Wait(_store.GetAsync(key, firstBytes: null, CancellationToken.None)) ?? throw new StoreIntegrityException(_store.Describe(key), missingCode);

    /// <summary>A range of a listed object (a frame of a block); gone meanwhile is block_missing.</summary>
    private byte[] GetRange(string key, long offset, int count) =>
        Wait(_store.GetRangeAsync(key, offset, count, CancellationToken.None)) ?? throw new StoreIntegrityException(_store.Describe(key), StoreCodes.BlockMissing);

    /// <summary>
    /// The reader's API is synchronous (the CLI and tests call it); the filesystem store completes
    /// synchronously and the S3 client has no synchronization context to deadlock on, so blocking is safe.
    /// </summary>
    private static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();

    private byte[] Open(string path, ReadOnlySpan<byte> sealedObject, ObjectKind kind, string tenant, string? where) =>
        Open(path, sealedObject, kind, tenant, where, out _);

    private byte[] Open(string path, ReadOnlySpan<byte> sealedObject, ObjectKind kind, string tenant, string? where, out SealedObjectInfo info)
    {
        byte[] plain;
        try
        {
            plain = Sealer.Open(sealedObject, _identities, out info);
        }
        catch (SealedIntegrityException e)
        {
            throw new StoreIntegrityException(path, e.Code, where);
        }
        catch (NoIdentityMatchException e)
        {
            throw new StoreAccessException(where is null ? path : $"{path} {where}", e);
        }

        if (info.ObjectKind != kind)
        {
            throw new StoreIntegrityException(path, StoreCodes.KindMismatch, where);
        }

        if (!string.Equals(info.Tenant, tenant, StringComparison.Ordinal))
        {
            throw new StoreIntegrityException(path, StoreCodes.TenantMismatch, where);
        }

        return plain;
    }

    /// <summary>False when the index proves no span of the block can match; else the records worth reading (null = all).</summary>
    private static bool MayMatch(BlockIndex index, TraceQuery q, out HashSet<int>? records)
    {
        records = null;
        bool anyTraces = false;
        foreach (var r in index.Records)
        {
            anyTraces |= r.Signal == (byte)OtlpSignal.Traces && r.SpanCount > 0;
        }

        if (!anyTraces || !BoundsMayMatch(index.Services, index.Names, index.Flags, index.MinStart, index.MaxEnd, index.MinDuration, index.MaxDuration, q))
        {
            return false;
        }

        if (q.TraceId is { Length: 16 } id)
        {
            var wanted = BinaryPrimitives.ReadUInt128BigEndian(id);
            records = [];
            foreach (var t in index.Traces)
            {
                if (t.TraceId == wanted)
                {
                    records.Add(t.Record);
                }
            }

            return records.Count > 0;
        }

        if (q.TraceIds is { } set)
        {
            records = [];
            foreach (var t in index.Traces)
            {
                if (set.Contains(t.TraceId))
                {
                    records.Add(t.Record);
                }
            }

            return records.Count > 0;
        }

        return true;
    }

    /// <summary>One object's records, with what ordering and de-duplication need.</summary>
    private sealed class Source
    {
        public required ulong Order { get; init; }

        public required string Path { get; init; }

        public required List<StoredRecord> Records { get; init; }

        /// <summary>v1 segments: (seq, id) from the name, to drop those an index lists as folded.</summary>
        public IndexedSegment? Segment { get; init; }

        /// <summary>v2 logs: the header's object id (a live segment keeps it as a block).</summary>
        public string? ObjectId { get; init; }

        /// <summary>v2 logs: the read ended with the end frame (it saw every frame the log will ever have).</summary>
        public bool Complete { get; init; }

        /// <summary>A live read replaced by the block it became.</summary>
        public bool Superseded { get; set; }
    }

    /// <summary>An authenticated index, and the header and listed length of the block it was checked against.</summary>
    private sealed record IndexCheck(BlockIndex Index, byte[] Head, SealedObjectInfo Header, long BlockLength);
}
