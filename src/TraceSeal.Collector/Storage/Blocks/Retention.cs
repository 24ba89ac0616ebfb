using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Storage;
using System.Globalization;
using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Storage.Wal;
using TraceSeal.Sealing.Files;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Objects;

namespace TraceSeal.Collector.Storage.Blocks;

/// <summary>
/// `retention`: deletes a tenant's oldest objects under `blocks/TENANT/` — by age (every object of an hour
/// bucket that ended more than `max_age` ago) and by size (oldest first until the tenant's blocks fit in
/// `max_bytes`). An index is deleted before its block, so a crash in between leaves a block without index
/// (scanned in full by readers), never an index without its block. A segment a forwarder reading the WAL has not
/// passed (its key header exists, <see cref="ForwardHolds"/>) is kept, with its index, until it has. Runs on the
/// tenant's cut loop.
/// </summary>
internal static class Retention
{
    /// <summary>
    /// `retention::max_age` when the key is absent: 30 days (720h). Infinite retention by default meant a client
    /// that floods, or a store nobody prunes, fills the disk; a month covers the usual trace-debugging horizon.
    /// Keeping data longer is an explicit, larger value (e.g. 87600h).
    /// </summary>
    public static readonly TimeSpan DefaultMaxAge = TimeSpan.FromDays(30);

    /// <summary>The age limit in force: the configured one, or <see cref="DefaultMaxAge"/>.</summary>
    public static TimeSpan EffectiveMaxAge(StoreRetentionSettings settings) => settings.MaxAge ?? DefaultMaxAge;

    public static void Sweep(StoreContext ctx, string tenant)
    {
        var settings = ctx.Settings.Retention;
        TimeSpan maxAge = EffectiveMaxAge(settings);

        var tenantDir = Path.Combine(ctx.Root, StoreFormat.BlocksDir, tenant);
        if (!Directory.Exists(tenantDir))
        {
            return;
        }

        // Units: a block with its index (same stem), or one recovered segment. Oldest first: by hour bucket
        // (the path), then by the unit's earliest write time.
        var units = new Dictionary<string, Unit>(StringComparer.Ordinal);
        foreach (var file in new DirectoryInfo(tenantDir).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            if (StoreFormat.IsUnitObject(file.Extension)
                && TryBucketStart(tenantDir, file.DirectoryName!, out var bucketStart))
            {
                var key = Path.Combine(file.DirectoryName!, Path.GetFileNameWithoutExtension(file.Name))
                          + (StoreFormat.IsOwnUnit(file.Extension) ? file.Extension : "");
                if (!units.TryGetValue(key, out var unit))
                {
                    unit = new Unit(file.DirectoryName!, bucketStart);
                    units[key] = unit;
                }

                unit.Add(file);
            }
        }

        var ordered = units.Values.ToList();
        ordered.Sort(static (a, b) => a.BucketStart != b.BucketStart ? a.BucketStart.CompareTo(b.BucketStart) : a.Written.CompareTo(b.Written));
        long total = ordered.Sum(u => u.Bytes);
        var now = ctx.Time.GetUtcNow();
        var touched = new HashSet<string>(StringComparer.Ordinal);

        // A segment a forwarder reading the WAL has not passed stays until it has (ForwardHolds): counted as deleted,
        // so that holding it costs no newer block; what is held is bounded by wal::max_backlog_bytes.
        var held = StoreFormat.ForwardHeldIds(ctx.Root, tenant);
        int kept = 0;
        string? keptReason = null;
        foreach (var unit in ordered)
        {
            string? reason = unit.BucketStart.AddHours(1) <= now - maxAge ? "retention::max_age"
                : settings.MaxBytes is { } max && total > max ? "retention::max_bytes"
                : null;
            if (reason is null)
            {
                continue;
            }

            total -= unit.Bytes;
            if (held.Count > 0 && unit.Files.Any(f => ForwardHolds.SegmentId(f.Name) is { } id && held.Contains(id)))
            {
                kept += unit.Files.Count;
                keptReason ??= reason;
                continue;
            }

            unit.Files.Sort(static (a, b) => Rank(a).CompareTo(Rank(b)));
            foreach (var file in unit.Files)
            {
                file.Delete();
                StorageLog.RetentionDeleted(ctx.Logger, file.FullName, reason);
            }

            touched.Add(unit.Directory);
        }

        foreach (var bucket in touched)
        {
            DirectorySync.Fsync(bucket);
            RemoveEmpty(tenantDir, bucket);
        }

        if (kept > 0)
        {
            StorageLog.RetentionHeld(ctx.Logger, kept, tenant, keptReason!);
        }
    }

    /// <summary>
    /// The same rules over an object store (`s3`): units are a block with its index (same stem) or one
    /// recovered segment, per tenant, oldest hour bucket first, then oldest written. Runs on the uploader
    /// loop, so it never deletes while that loop is putting the same tenant's objects. A failed delete is
    /// thrown to the caller and the next pass tries again.
    /// </summary>
    public static async Task SweepAsync(IObjectStore store, StoreRetentionSettings settings, DateTimeOffset now, ILogger logger, CancellationToken cancellationToken)
    {
        TimeSpan maxAge = EffectiveMaxAge(settings);

        var tenants = new Dictionary<string, Dictionary<string, ObjectUnit>>(StringComparer.Ordinal);
        foreach (var entry in await store.ListAsync(StoreFormat.BlocksDir + "/", cancellationToken).ConfigureAwait(false))
        {
            var parts = entry.Key.Split('/');
            if (parts.Length != 7 || !StoreFormat.IsValidTenant(parts[1])
                || !DateTimeOffset.TryParseExact(string.Join('/', parts[2..6]), "yyyy/MM/dd/HH", CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var bucketStart))
            {
                continue;
            }

            var ext = Path.GetExtension(parts[6]);
            if (!StoreFormat.IsUnitObject(ext))
            {
                continue;
            }

            var unitKey = entry.Key[..^ext.Length] + (StoreFormat.IsOwnUnit(ext) ? ext : "");
            if (!tenants.TryGetValue(parts[1], out var units))
            {
                units = new Dictionary<string, ObjectUnit>(StringComparer.Ordinal);
                tenants[parts[1]] = units;
            }

            if (!units.TryGetValue(unitKey, out var unit))
            {
                unit = new ObjectUnit(bucketStart);
                units[unitKey] = unit;
            }

            unit.Entries.Add(entry);
        }

        foreach (var units in tenants.Values)
        {
            var ordered = units.Values.ToList();
            ordered.Sort(static (a, b) => a.BucketStart != b.BucketStart ? a.BucketStart.CompareTo(b.BucketStart) : a.Written.CompareTo(b.Written));
            long total = ordered.Sum(u => u.Bytes);
            foreach (var unit in ordered)
            {
                string? reason = unit.BucketStart.AddHours(1) <= now - maxAge ? "retention::max_age"
                    : settings.MaxBytes is { } max && total > max ? "retention::max_bytes"
                    : null;
                if (reason is null)
                {
                    continue;
                }

                total -= unit.Bytes;
                unit.Entries.Sort(static (a, b) => Rank(a.Key).CompareTo(Rank(b.Key)));
                foreach (var entry in unit.Entries)
                {
                    await store.DeleteAsync(entry.Key, cancellationToken).ConfigureAwait(false);
                    StorageLog.RetentionDeleted(logger, store.Describe(entry.Key), reason);
                }
            }
        }
    }

    private static int Rank(string key) => StoreFormat.DeleteRank(Path.GetExtension(key));

    /// <summary>Summary, index, then block: a crash in between must not leave a summary or index without its block.</summary>
    private static int Rank(FileInfo f) => StoreFormat.DeleteRank(f.Extension);

    private static bool TryBucketStart(string tenantDir, string dir, out DateTimeOffset start)
    {
        var rel = Path.GetRelativePath(tenantDir, dir).Replace('\\', '/');
        return DateTimeOffset.TryParseExact(rel, "yyyy/MM/dd/HH", CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out start);
    }

    private static void RemoveEmpty(string tenantDir, string dir)
    {
        while (!string.Equals(dir, tenantDir, StringComparison.Ordinal) && Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any())
        {
            Directory.Delete(dir);
            dir = Path.GetDirectoryName(dir)!;
        }
    }

    private sealed class ObjectUnit(DateTimeOffset bucketStart)
    {
        public DateTimeOffset BucketStart { get; } = bucketStart;
        public List<ObjectEntry> Entries { get; } = [];
        public long Bytes => Entries.Sum(e => e.Size);
        public DateTimeOffset Written => Entries.Count == 0 ? DateTimeOffset.MaxValue : Entries.Min(e => e.LastModified);
    }

    private sealed class Unit(string directory, DateTimeOffset bucketStart)
    {
        public string Directory { get; } = directory;
        public DateTimeOffset BucketStart { get; } = bucketStart;
        public List<FileInfo> Files { get; } = [];
        public long Bytes { get; private set; }
        public DateTime Written { get; private set; } = DateTime.MaxValue;

        public void Add(FileInfo file)
        {
            Files.Add(file);
            Bytes += file.Length;
            Written = file.LastWriteTimeUtc < Written ? file.LastWriteTimeUtc : Written;
        }
    }
}
