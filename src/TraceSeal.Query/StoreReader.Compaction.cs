using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;
using TraceSeal.Storage.Objects;

namespace TraceSeal.Query;

/// <summary>A block compaction may merge or list in a manifest: a v2 block with its index (and summary).</summary>
internal sealed record CompactionCandidate(string BlockKey, long BlockSize, DateTimeOffset Written, BlockSummary Summary, bool Committed);

/// <summary>One hour bucket as compaction finds it (docs/format.md §15.4).</summary>
internal sealed class CompactionBucket
{
    public required string Dir { get; init; }
    public required string Bucket { get; init; }
    public required string Tenant { get; init; }

    /// <summary>The manifest's generation (0: none yet).</summary>
    public required ulong Generation { get; init; }

    /// <summary>Manifests older than the current one: an earlier run's leftovers.</summary>
    public required List<string> OldManifests { get; init; }

    /// <summary>Objects of blocks a committed block replaced, and of outputs an earlier run did not commit: to delete, in this order.</summary>
    public required List<string> Leftovers { get; init; }

    public required List<CompactionCandidate> Candidates { get; init; }
}

/// <summary>What `traceseal compact` reads through the reader, so it checks what every query checks.</summary>
public sealed partial class StoreReader
{
    internal IObjectStore ObjectStore => _store;

    /// <summary>
    /// Every hour bucket of every tenant under every root, with its manifest's state and the blocks compaction may use:
    /// v2 blocks with an index, not replaced, not an uncommitted output. Blocks without a summary (written before
    /// summaries existed, or a cut interrupted before it) get one built from their index. v1 blocks and recovered
    /// segments are left as they are.
    /// </summary>
    internal List<CompactionBucket> CompactionState()
    {
        var byDir = new SortedDictionary<string, (BucketFiles Files, string Tenant)>(StringComparer.Ordinal);
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        var written = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var entry in ListStore())
        {
            if (!StoreFormat.TryParseBlockKey(entry.Key, out _, out var tenant, out var bucket, out var name))
            {
                continue;
            }

            var dir = entry.Key[..^(name.Length + 1)];
            if (!byDir.TryGetValue(dir, out var found))
            {
                byDir[dir] = found = (new BucketFiles(bucket), tenant);
            }

            found.Files.Names.Add(name);
            sizes[entry.Key] = entry.Size;
            written[entry.Key] = entry.LastModified;
        }

        var result = new List<CompactionBucket>();
        foreach (var (dir, (files, tenant)) in byDir)
        {
            result.Add(CompactionBucketOf(dir, files, tenant, sizes, written));
        }

        return result;
    }

    private CompactionBucket CompactionBucketOf(string dir, BucketFiles files, string tenant, Dictionary<string, long> sizes, Dictionary<string, DateTimeOffset> written)
    {
        var manifest = ReadManifest(dir, files, tenant, sizes, out var manifestKey);
        var oldManifests = new List<string>();
        foreach (var name in files.Names)
        {
            var key = $"{dir}/{name}";
            if (name.EndsWith(StoreFormat.ManifestExtension, StringComparison.Ordinal) && key != manifestKey)
            {
                oldManifests.Add(key);
            }
        }

        var committed = new Dictionary<string, BlockSummary>(StringComparer.Ordinal);
        var superseded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in manifest?.Entries ?? [])
        {
            committed[entry.Stem] = entry;
            foreach (var input in entry.Inputs)
            {
                superseded.Add(StemOf(input));
            }
        }

        var blocks = files.Stems(StoreFormat.BlockExtension);
        var stems = new SortedSet<string>(blocks, StringComparer.Ordinal);
        stems.UnionWith(files.Stems(StoreFormat.SummaryExtension));
        stems.UnionWith(files.Stems(StoreFormat.IndexExtension));
        var leftovers = new List<string>();
        var candidates = new List<CompactionCandidate>();
        foreach (var stem in stems)
        {
            string Key(string extension) => $"{dir}/{stem}{extension}";
            var unit = new[] { StoreFormat.SummaryExtension, StoreFormat.IndexExtension, StoreFormat.BlockExtension }
                .Select(Key).Where(sizes.ContainsKey).ToList();
            if (superseded.Contains(stem) && !committed.ContainsKey(stem))
            {
                leftovers.AddRange(unit); // summary, index, block: replaced, the reader skips every one of them
                continue;
            }

            var summary = committed.GetValueOrDefault(stem);
            if (summary is null && sizes.ContainsKey(Key(StoreFormat.SummaryExtension)))
            {
                summary = OpenSummary(Key(StoreFormat.SummaryExtension), tenant, stem, sizes[Key(StoreFormat.SummaryExtension)]);
            }

            if (summary is { IsCompacted: true } && !committed.ContainsKey(stem) && (!blocks.Contains(stem) || AnyPresent(summary.Inputs, blocks)))
            {
                // An output an interrupted run did not commit: block first, so the rest never looks like a collector's block.
                unit.Reverse();
                leftovers.AddRange(unit);
                continue;
            }

            if (!blocks.Contains(stem) || !sizes.ContainsKey(Key(StoreFormat.IndexExtension)))
            {
                continue; // a cut in progress (the index comes after the block), or a block without index: read in full, not merged
            }

            var check = ReadIndexCached(Key(StoreFormat.IndexExtension), tenant, sizes);
            if (check.Index.Version != StoreFormat.IndexVersion2)
            {
                continue; // a v1 block: read as it is
            }

            summary ??= BlockSummary.FromIndex(check.Index, inputs: []);
            if (!summary.BlockObjectId.AsSpan().SequenceEqual(check.Index.BlockObjectId))
            {
                throw new StoreIntegrityException(_store.Describe(committed.ContainsKey(stem) ? manifestKey! : Key(StoreFormat.SummaryExtension)),
                    StoreCodes.SummaryMismatch, $"(its entry for {stem} describes another block)");
            }

            var newest = unit.Max(k => written[k]);
            candidates.Add(new CompactionCandidate(Key(StoreFormat.BlockExtension), sizes[Key(StoreFormat.BlockExtension)], newest, summary, committed.ContainsKey(stem)));
        }

        return new CompactionBucket
        {
            Dir = dir,
            Bucket = files.Bucket!,
            Tenant = tenant,
            Generation = manifest?.Generation ?? 0,
            OldManifests = oldManifests,
            Leftovers = leftovers,
            Candidates = candidates,
        };
    }

    /// <summary>A v2 block read in full with its index, every record checked against its indexed place: what a merge copies.</summary>
    internal (BlockIndex Index, List<StoredRecord> Records) ReadIndexedBlock(string blockKey, string tenant)
    {
        var indexKey = blockKey[..^StoreFormat.BlockExtension.Length] + StoreFormat.IndexExtension;
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var entry in Wait(_store.ListAsync(blockKey[..(blockKey.LastIndexOf('/') + 1)], CancellationToken.None)))
        {
            sizes[entry.Key] = entry.Size;
        }

        if (!sizes.ContainsKey(indexKey))
        {
            throw new StoreIntegrityException(_store.Describe(blockKey), StoreCodes.BlockMissing, "(its index is gone)");
        }

        var check = ReadIndexCached(indexKey, tenant, sizes);
        var source = ReadLog(blockKey, tenant, Get(blockKey, StoreCodes.BlockMissing), LogPlace.Block, check, selected: null);
        return (check.Index, source.Records);
    }
}
