using Microsoft.Extensions.Logging;

namespace TraceSeal.Collector.Storage;

/// <summary>
/// Log messages of the sealed store (event ids 4001+, append-only). Paths are safe to log: they hold only the
/// tenant, time buckets, sequence numbers and random ids (StoreFormat.cs invariant 2); never telemetry.
/// </summary>
internal static partial class StorageLog
{
    [LoggerMessage(4001, LogLevel.Warning, "WAL segment {Path}: torn tail cut ({Code}): {Removed} byte(s) after the last complete frame at {Length}; these were never acknowledged", EventName = "WalTornTailCut")]
    public static partial void TornTailCut(ILogger logger, string path, string code, long removed, long length);

    [LoggerMessage(4002, LogLevel.Information, "WAL segment {Path} from an earlier run moved to {Target}; readers scan it in full", EventName = "WalSegmentRecovered")]
    public static partial void SegmentRecovered(ILogger logger, string path, string target);

    [LoggerMessage(4003, LogLevel.Debug, "block {Path} written: {Records} record(s), {Bytes} sealed byte(s), {Segments} WAL segment(s) folded", EventName = "BlockWritten")]
    public static partial void BlockWritten(ILogger logger, string path, int records, long bytes, int segments);

    [LoggerMessage(4004, LogLevel.Error, "tenant {Tenant}: writing a block failed; its WAL segments are kept and will be recovered at the next start", EventName = "BlockWriteFailed")]
    public static partial void BlockWriteFailed(ILogger logger, string tenant, Exception exception);

    [LoggerMessage(4005, LogLevel.Error, "tenant {Tenant}: writing the WAL failed; {Count} request(s) refused (retryable)", EventName = "WalWriteFailed")]
    public static partial void WalWriteFailed(ILogger logger, string tenant, int count, Exception exception);

    [LoggerMessage(4006, LogLevel.Debug, "tenant {Tenant}: WAL backlog limit {Limit} byte(s) reached; request refused (retryable)", EventName = "WalBacklogLimit")]
    public static partial void BacklogLimit(ILogger logger, string tenant, long limit);

    [LoggerMessage(4007, LogLevel.Information, "retention: deleted {Path} ({Reason})", EventName = "RetentionDeleted")]
    public static partial void RetentionDeleted(ILogger logger, string path, string reason);

    [LoggerMessage(4008, LogLevel.Warning, "WAL segment {Path}: frame at {Offset} is not a sealed WAL frame ({Code}) and is not at the end; the segment is kept as it is for readers to report", EventName = "WalSegmentCorrupt")]
    public static partial void SegmentCorrupt(ILogger logger, string path, long offset, string code);

    [LoggerMessage(4009, LogLevel.Information, "removed an interrupted atomic write {Path}", EventName = "TempFileRemoved")]
    public static partial void TempFileRemoved(ILogger logger, string path);

    [LoggerMessage(4010, LogLevel.Warning, "directory {Path} under the WAL is not a tenant directory; ignored", EventName = "WalDirectoryIgnored")]
    public static partial void WalDirectoryIgnored(ILogger logger, string path);
}
