using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Storage.Blocks;
using TraceSeal.Collector.Storage.Wal;
using TraceSeal.Sealing;
using TraceSeal.Storage.Objects;

namespace TraceSeal.Collector.Storage;

/// <summary>What every tenant of one sealed_store exporter shares: settings, recipient keys (public only), clock, logger.</summary>
internal sealed class StoreContext
{
    private FileSystemObjectStore? _local;
    private ForwardHolds? _holds;

    public required string Root { get; init; }
    public required SealedStoreExporterSettings Settings { get; init; }
    public required IReadOnlyList<IRecipient> Recipients { get; init; }
    public required TimeProvider Time { get; init; }
    public required ILogger Logger { get; init; }

    /// <summary>The local store under <see cref="Root"/>: WAL directory, and the blocks when there is no <see cref="Uploader"/>.</summary>
    public FileSystemObjectStore Local
    {
        get => _local ??= new FileSystemObjectStore(Root);
        init => _local = value;
    }

    /// <summary>The segments a forwarder reading the WAL has not passed: neither retention nor the uploader removes them.</summary>
    public ForwardHolds Holds
    {
        get => LazyInitializer.EnsureInitialized(ref _holds, () => new ForwardHolds(Root));
        init => _holds = value;
    }

    /// <summary>Set with `s3`: sealed blocks go to object storage in the background instead of <see cref="Local"/>.</summary>
    public BlockUploader? Uploader { get; init; }

    public bool Fsync => Settings.Durability == SealedStoreDurability.Fsync;

    /// <summary>How long a client waits before retrying a refused request.</summary>
    public static TimeSpan RetryAfter => TimeSpan.FromSeconds(1);

    /// <summary>A group commit seals at most this many plaintext bytes per frame (at least one request).</summary>
    public const int MaxFrameBytes = 4 * 1024 * 1024;
}
