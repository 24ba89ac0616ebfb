using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Exporters.SealedStore;

/// <summary>When a write counts as durable, and therefore when a client is acknowledged.</summary>
internal enum SealedStoreDurability
{
    /// <summary>fsync before the acknowledgement: an acknowledged span survives power loss.</summary>
    Fsync,

    /// <summary>Page cache only: faster, loses acknowledged data on a crash; the loader warns.</summary>
    None,
}

/// <summary>
/// `sealed_store` (TraceSeal): seals everything it writes (WAL, blocks, index) to the recipients' public
/// keys. The collector holds no private key, so it can write but never read back.
/// </summary>
internal sealed class SealedStoreExporterSettings : ExporterSettings
{
    /// <summary>Absolute: local root for the sealed WAL and (without <see cref="S3"/>) the sealed blocks.</summary>
    public required string Directory { get; init; }

    /// <summary>Absolute paths of recipient public key files (at least one).</summary>
    public required IReadOnlyList<string> Recipients { get; init; }

    public SealedStoreDurability Durability { get; init; } = SealedStoreDurability.Fsync;

    /// <summary>Null = blocks stay on the filesystem under <see cref="Directory"/>.</summary>
    public S3StoreSettings? S3 { get; init; }

    /// <summary>
    /// With <see cref="S3"/>: this collector's objects go under `s3::prefix/collectors/ID/` (docs/format.md §15.3), so many
    /// collectors share one bucket and readers cover them all. Null = an id generated once and kept in
    /// `DIRECTORY/collector.id`, stable across restarts.
    /// </summary>
    public string? CollectorId { get; init; }

    public StoreBlockSettings Block { get; init; } = new();
    public StoreRetentionSettings Retention { get; init; } = new();
    public StoreWalSettings Wal { get; init; } = new();
}

/// <summary>S3-compatible object storage for sealed blocks; SSE-KMS may be added on top of sealing, never instead.</summary>
internal sealed class S3StoreSettings
{
    public required string Bucket { get; init; }

    /// <summary>Key prefix; one per collector when several share a bucket.</summary>
    public string Prefix { get; init; } = "";

    /// <summary>Null = AWS; set for MinIO, Ceph or a local test server.</summary>
    public string? Endpoint { get; init; }

    public string? Region { get; init; }

    /// <summary>MinIO and most self-hosted servers need path-style addressing.</summary>
    public bool ForcePathStyle { get; init; }

    public string? SseKmsKeyId { get; init; }
}

/// <summary>`block`: when the WAL is cut into a sealed block.</summary>
internal sealed class StoreBlockSettings
{
    /// <summary>64 MiB: large enough to amortise per-object headers and S3 requests, small enough to upload quickly.</summary>
    public long MaxBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>5m: readers also see the WAL, so this only bounds how long data waits for compaction.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>`retention`: null = keep forever (deleting data is an explicit choice).</summary>
internal sealed class StoreRetentionSettings
{
    public TimeSpan? MaxAge { get; init; }
    public long? MaxBytes { get; init; }
}

/// <summary>`wal`: the sealed write-ahead log every acknowledgement waits for.</summary>
internal sealed class StoreWalSettings
{
    /// <summary>
    /// 64 MiB: a closed segment becomes a block as it is (docs/format.md §14), so a segment rolls at
    /// min(segment_bytes, block::max_bytes); the same size as a block amortises headers and S3 requests.
    /// </summary>
    public long SegmentBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>1 GiB: beyond it new data is refused (retryable) instead of filling the disk.</summary>
    public long MaxBacklogBytes { get; init; } = 1024L * 1024 * 1024;
}
