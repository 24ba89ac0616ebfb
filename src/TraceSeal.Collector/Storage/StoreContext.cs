using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Sealing;

namespace TraceSeal.Collector.Storage;

/// <summary>What every tenant of one sealed_store exporter shares: settings, recipient keys (public only), clock, logger.</summary>
internal sealed class StoreContext
{
    public required string Root { get; init; }
    public required SealedStoreExporterSettings Settings { get; init; }
    public required IReadOnlyList<IRecipient> Recipients { get; init; }
    public required TimeProvider Time { get; init; }
    public required ILogger Logger { get; init; }

    public bool Fsync => Settings.Durability == SealedStoreDurability.Fsync;

    /// <summary>How long a client waits before retrying a refused request.</summary>
    public static TimeSpan RetryAfter => TimeSpan.FromSeconds(1);

    /// <summary>A group commit seals at most this many plaintext bytes per frame (at least one request).</summary>
    public const int MaxFrameBytes = 4 * 1024 * 1024;
}
