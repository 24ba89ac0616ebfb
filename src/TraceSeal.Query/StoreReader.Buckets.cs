using System.Buffers.Binary;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;
using TraceSeal.Storage.Objects;

namespace TraceSeal.Query;

/// <summary>
/// Queries that do not grow with the store (docs/format.md §15). The blocks of a tenant are read hour bucket by hour
/// bucket, under every root that holds a `blocks/` tree (the store's own, and `collectors/ID/` of each collector
/// sharing a bucket). In a bucket:
///
/// 1. The manifest with the highest generation, if any (written by `traceseal compact`), names the committed blocks,
///    each with its summary, and through their inputs the blocks they replaced: those are skipped while their
///    deletion is under way, and so is a live read of a segment that became one of them.
/// 2. Every other block's summary (`ID.summary`, written at the cut) is opened; a block a compaction wrote but did not
///    commit — its inputs are still listed, or it is incomplete — is skipped: its inputs hold the same records.
/// 3. A query opens a block's index only when the summary lets the block match (time range, durations, services,
///    span names, trace-id filter); a block without summary (written before summaries existed) is decided by its
///    index as before. Decrypted manifests, summaries and indexes stay in the reader's bounded cache.
/// </summary>
public sealed partial class StoreReader
{
    private IReadOnlyList<ObjectEntry> ListStore() => Wait(_store.ListAsync("", CancellationToken.None));

    /// <summary>The tenant a listed key belongs to: `wal/TENANT/...` (when the live WAL is visible) or `[ROOT/]blocks/TENANT/...`.</summary>
    private string? TenantOf(string key)
    {
        if (StoreFormat.TryParseBlockKey(key, out _, out var tenant, out _, out _))
        {
            return tenant;
        }

        var parts = key.Split('/');
        bool walOrBlocks = (SeesLiveWal && parts[0] == StoreFormat.WalDir) || parts[0] == StoreFormat.BlocksDir;
        return walOrBlocks && parts.Length >= 3 && StoreFormat.IsValidTenant(parts[1]) ? parts[1] : null;
    }

    /// <summary>The tenant's block-store objects by folder. Keys under `blocks/TENANT/` in any other depth (old test stores) are read too, without manifests.</summary>
    private BucketListing ListBuckets(string tenant)
    {
        var listing = new BucketListing();
        var legacy = $"{StoreFormat.BlocksDir}/{tenant}/";
        foreach (var entry in ListStore())
        {
            string? bucket = null;
            if (StoreFormat.TryParseBlockKey(entry.Key, out _, out var owner, out var parsed, out _))
            {
                if (!string.Equals(owner, tenant, StringComparison.Ordinal))
                {
                    continue;
                }

                bucket = parsed;
            }
            else if (!entry.Key.StartsWith(legacy, StringComparison.Ordinal))
            {
                continue;
            }

            int slash = entry.Key.LastIndexOf('/');
            var dir = entry.Key[..slash];
            if (!listing.TryGetValue(dir, out var files))
            {
                listing[dir] = files = new BucketFiles(bucket);
            }

            files.Names.Add(entry.Key[(slash + 1)..]);
            listing.Sizes[entry.Key] = entry.Size;
        }

        return listing;
    }

    /// <summary>Every bucket of the tenant, planned (<see cref="PlanBucket"/>) before any block is read.</summary>
    private List<BucketRead> PlanBuckets(string tenant, TraceQuery? prune, Dictionary<string, Source> liveLogs, HashSet<IndexedSegment> covered, bool lazyIndexes = false)
    {
        var listing = ListBuckets(tenant);
        var buckets = new List<BucketRead>(listing.Count);
        foreach (var (dir, bucket) in listing)
        {
            buckets.Add(PlanBucket(dir, bucket, tenant, prune, listing.Sizes, liveLogs, covered, lazyIndexes));
        }

        return buckets;
    }

    /// <summary>What to read of one bucket: decided from its manifest, summaries and (where needed) indexes, before any block is read.</summary>
    private BucketRead PlanBucket(string dir, BucketFiles files, string tenant, TraceQuery? prune, Dictionary<string, long> sizes,
        Dictionary<string, Source> liveLogs, HashSet<IndexedSegment> covered, bool lazyIndexes)
    {
        var plan = new BucketRead();
        var committed = new Dictionary<string, BlockSummary>(StringComparer.Ordinal);
        var superseded = new HashSet<string>(StringComparer.Ordinal);
        string? manifestKey = null;
        if (ReadManifest(dir, files, tenant, sizes, out manifestKey) is { } manifest)
        {
            foreach (var entry in manifest.Entries)
            {
                committed[entry.Stem] = entry;
                foreach (var input in entry.Inputs)
                {
                    superseded.Add(StemOf(input));
                    if (liveLogs.TryGetValue(Convert.ToHexStringLower(input), out var liveRead))
                    {
                        liveRead.Superseded = true; // that segment became a block this one replaced: it holds every record of it
                    }
                }
            }
        }

        var blocks = files.Stems(StoreFormat.BlockExtension);
        var stems = new SortedSet<string>(blocks, StringComparer.Ordinal);
        stems.UnionWith(files.Stems(StoreFormat.SummaryExtension));
        stems.UnionWith(files.Stems(StoreFormat.IndexExtension));
        foreach (var stem in stems)
        {
            if (superseded.Contains(stem) && !committed.ContainsKey(stem))
            {
                continue; // replaced by a committed block; its deletion is under way
            }

            var summaryKey = $"{dir}/{stem}{StoreFormat.SummaryExtension}";
            var indexKey = $"{dir}/{stem}{StoreFormat.IndexExtension}";
            var summary = committed.GetValueOrDefault(stem);
            bool fromManifest = summary is not null;
            if (summary is null && sizes.ContainsKey(summaryKey))
            {
                summary = OpenSummary(summaryKey, tenant, stem, sizes[summaryKey]);
            }

            if (summary is { IsCompacted: true } && !fromManifest && (!blocks.Contains(stem) || AnyPresent(summary.Inputs, blocks)))
            {
                continue; // a compaction's output it has not committed: its inputs are still here (or it is not whole yet)
            }

            if (!blocks.Contains(stem))
            {
                throw new StoreIntegrityException(_store.Describe(sizes.ContainsKey(indexKey) ? indexKey : summaryKey), StoreCodes.BlockMissing);
            }

            var blockKey = $"{dir}/{stem}{StoreFormat.BlockExtension}";
            if (prune is not null && summary is not null && !MayMatch(summary, prune))
            {
                // The summary proves no span of the block can match: neither its index nor the block is read. The
                // listing still shows a block cut, extended or replaced: its length is not the one summarised. (A
                // rewrap changes the header's length too: then the index is checked against the block's head.)
                if (sizes[blockKey] != summary.BlockSealedLength && sizes.ContainsKey(indexKey))
                {
                    ReadIndexCached(indexKey, tenant, sizes);
                }
                else if (sizes[blockKey] != summary.BlockSealedLength)
                {
                    throw new StoreIntegrityException(_store.Describe(blockKey), StoreCodes.IndexMismatch,
                        $"(its summary describes a block of {summary.BlockSealedLength} bytes)");
                }

                continue;
            }

            var describedBy = fromManifest ? manifestKey! : summaryKey;
            if (lazyIndexes && summary is not null)
            {
                // A search reads blocks newest first and may stop before this one: its index is opened when it is read.
                // (v1 segments the index lists as folded are not dropped then: a search's first pass keeps trace ids only.)
                var summarised = summary;
                Func<IndexCheck?> deferred = sizes.ContainsKey(indexKey) ? () => CheckIndex(indexKey, tenant, sizes, summarised, describedBy, stem) : () => null;
                plan.Blocks.Add((blockKey, null, summary.MaxEnd, deferred));
                continue;
            }

            var check = sizes.ContainsKey(indexKey) ? CheckIndex(indexKey, tenant, sizes, summary, describedBy, stem) : null;
            if (check is not null)
            {
                covered.UnionWith(check.Index.Segments);
            }

            // How recent the block's spans may be, for a search that reads the newest blocks first (unknown: read it first).
            ulong maxEnd = summary?.MaxEnd ?? check?.Index.MaxEnd ?? ulong.MaxValue;
            plan.Blocks.Add((blockKey, check, maxEnd, null));
        }

        foreach (var name in files.Names)
        {
            if (name.EndsWith(StoreFormat.RecoveredExtension, StringComparison.Ordinal))
            {
                plan.Recovered.Add($"{dir}/{name}");
            }
        }

        return plan;
    }

    /// <summary>A block's index (<see cref="ReadIndexCached"/>), which must describe the block its summary (or manifest entry) describes.</summary>
    private IndexCheck CheckIndex(string indexKey, string tenant, Dictionary<string, long> sizes, BlockSummary? summary, string describedBy, string stem)
    {
        var check = ReadIndexCached(indexKey, tenant, sizes);
        if (summary is not null && !summary.BlockObjectId.AsSpan().SequenceEqual(check.Index.BlockObjectId))
        {
            throw new StoreIntegrityException(_store.Describe(describedBy), StoreCodes.SummaryMismatch, $"(its entry for {stem} describes another block)");
        }

        return check;
    }

    private void ReadBucket(BucketRead plan, string tenant, TraceQuery? prune, Dictionary<string, Source> liveLogs, HashSet<IndexedSegment> covered, List<Source> sources)
    {
        foreach (var (key, check, _, _) in plan.Blocks)
        {
            if (ReadBlock(key, tenant, check, prune, liveLogs) is { } source)
            {
                sources.Add(source);
            }
        }

        foreach (var key in plan.Recovered)
        {
            var source = ReadRecovered(key, tenant);
            if (source.Segment is not { } segment || !covered.Contains(segment))
            {
                sources.Add(source);
            }
        }
    }

    /// <summary>A WAL segment a collector recovered after a crash (`.walseg`): v2 (a sealed log) or v1.</summary>
    private Source ReadRecovered(string key, string tenant)
    {
        var bytes = Get(key, StoreCodes.BlockMissing);
        return StoreFormat.HasSealedMagic(bytes)
            ? ReadLog(key, tenant, bytes, LogPlace.Recovered, check: null, selected: null)
            : ReadSegmentV1(key, tenant, bytes, live: false);
    }

    /// <summary>The bucket's manifest: the highest generation listed (older ones are a compaction's leftovers), checked against its name and bucket.</summary>
    private BucketManifest? ReadManifest(string dir, BucketFiles files, string tenant, Dictionary<string, long> sizes, out string? key)
    {
        key = null;
        ulong best = 0;
        foreach (var name in files.Names)
        {
            if (!name.EndsWith(StoreFormat.ManifestExtension, StringComparison.Ordinal))
            {
                continue;
            }

            if (!BucketManifest.TryParseFileName(name, out var generation))
            {
                throw new StoreIntegrityException(_store.Describe($"{dir}/{name}"), StoreCodes.NameMismatch);
            }

            if (generation > best)
            {
                best = generation;
                key = $"{dir}/{name}";
            }
        }

        if (key is null)
        {
            return null;
        }

        var cacheKey = new DecodedObjectCache.CacheKey(key, sizes[key]);
        if (_cache is not null && _cache.TryGet<BucketManifest>(cacheKey, out var cached))
        {
            return cached;
        }

        var path = _store.Describe(key);
        var plain = Open(path, Get(key, StoreCodes.BlockMissing), ObjectKind.Index, tenant, where: null);
        ManifestsOpened++;
        if (!BucketManifest.TryDecode(plain, out var manifest))
        {
            throw new StoreIntegrityException(path, StoreCodes.ManifestMalformed);
        }

        // Bound to its place: the generation its name carries, the tenant (its header, checked by Open) and hour it lies in.
        if (manifest!.Generation != best || files.Bucket is null || !string.Equals(manifest.Bucket, files.Bucket, StringComparison.Ordinal))
        {
            throw new StoreIntegrityException(path, StoreCodes.ManifestMismatch);
        }

        _cache?.Add(cacheKey, manifest, 256 + (2L * plain.Length));
        return manifest;
    }

    /// <summary>A block's summary, bound to the block by name (its object id's first 8 bytes).</summary>
    private BlockSummary OpenSummary(string key, string tenant, string stem, long size)
    {
        var cacheKey = new DecodedObjectCache.CacheKey(key, size);
        if (_cache is not null && _cache.TryGet<BlockSummary>(cacheKey, out var cached))
        {
            return cached;
        }

        var path = _store.Describe(key);
        var plain = Open(path, Get(key, StoreCodes.BlockMissing), ObjectKind.Index, tenant, where: null);
        SummariesOpened++;
        if (!BlockSummary.TryDecode(plain, out var summary))
        {
            throw new StoreIntegrityException(path, StoreCodes.SummaryMalformed);
        }

        if (!string.Equals(summary!.Stem, stem, StringComparison.Ordinal))
        {
            throw new StoreIntegrityException(path, StoreCodes.SummaryMismatch, "(it describes another block)");
        }

        _cache?.Add(cacheKey, summary, 256 + (2L * plain.Length));
        return summary;
    }

    /// <summary><see cref="ReadIndex"/> through the cache: keyed by the index's and its block's listed sizes (a rewrap changes both).</summary>
    private IndexCheck ReadIndexCached(string key, string tenant, Dictionary<string, long> sizes)
    {
        var blockKey = key[..^StoreFormat.IndexExtension.Length] + StoreFormat.BlockExtension;
        var cacheKey = new DecodedObjectCache.CacheKey(key, sizes[key], sizes.GetValueOrDefault(blockKey, -1));
        if (_cache is not null && _cache.TryGet<IndexCheck>(cacheKey, out var cached))
        {
            return cached;
        }

        var check = ReadIndex(key, tenant, sizes);
        IndexesOpened++;
        var index = check.Index;
        long bytes = 512 + (index.Records.Count * 64L) + (index.Traces.Count * 32L) + (64L * (index.Services.Count + index.Names.Count)) + check.Head.Length;
        _cache?.Add(cacheKey, check, bytes);
        return check;
    }

    /// <summary>False when the summary proves no span of the block can match.</summary>
    private static bool MayMatch(BlockSummary summary, TraceQuery q) =>
        summary.SpanCount > 0
        && BoundsMayMatch(summary.Services, summary.Names, summary.Flags, summary.MinStart, summary.MaxEnd, summary.MinDuration, summary.MaxDuration, q)
        && (q.TraceId is not { Length: 16 } id || summary.MayContain(BinaryPrimitives.ReadUInt128BigEndian(id)))
        && (q.TraceIds is not { } ids || ids.Any(summary.MayContain));

    /// <summary>What an index and a summary both know: services, span names, time range, durations.</summary>
    private static bool BoundsMayMatch(IReadOnlyList<string> services, IReadOnlyList<string> names, byte flags,
        ulong minStart, ulong maxEnd, ulong minDuration, ulong maxDuration, TraceQuery q) =>
        !((q.Service is not null && (flags & BlockIndex.ServicesOverflow) == 0 && !services.Contains(q.Service, StringComparer.Ordinal))
          || (q.SpanName is not null && (flags & BlockIndex.NamesOverflow) == 0 && !names.Contains(q.SpanName, StringComparer.Ordinal))
          || maxEnd < q.FromNano || minStart > q.ToNanoOrMax
          || (q.MinDuration is { } min && maxDuration < (ulong)min.Ticks * 100UL)
          || (q.MaxDuration is { } max && minDuration > (ulong)max.Ticks * 100UL));

    private static string StemOf(byte[] objectId) => Convert.ToHexStringLower(objectId.AsSpan(0, StoreFormat.BlockNameBytes));

    private static bool AnyPresent(IReadOnlyList<byte[]> objectIds, HashSet<string> stems)
    {
        foreach (var id in objectIds)
        {
            if (stems.Contains(StemOf(id)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A tenant's block-store folders (sorted), with the listed size of every object.</summary>
    private sealed class BucketListing : SortedDictionary<string, BucketFiles>
    {
        public BucketListing()
            : base(StringComparer.Ordinal)
        {
        }

        public Dictionary<string, long> Sizes { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>The file names of one folder; <see cref="Bucket"/> is `blocks/TENANT/yyyy/MM/dd/HH` for an hour bucket, else null.</summary>
    private sealed class BucketFiles(string? bucket)
    {
        public string? Bucket { get; } = bucket;

        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);

        public HashSet<string> Stems(string extension)
        {
            var stems = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in Names)
            {
                if (name.EndsWith(extension, StringComparison.Ordinal))
                {
                    stems.Add(name[..^extension.Length]);
                }
            }

            return stems;
        }
    }

    private sealed class BucketRead
    {
        /// <summary>Blocks to read; with <c>Deferred</c> (a search's plan), the index is opened and checked only when the block is read.</summary>
        public List<(string Key, IndexCheck? Check, ulong MaxEnd, Func<IndexCheck?>? Deferred)> Blocks { get; } = [];

        public List<string> Recovered { get; } = [];
    }
}
