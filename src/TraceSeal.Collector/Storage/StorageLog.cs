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

    [LoggerMessage(4016, LogLevel.Debug, "tenant {Tenant}: writing the WAL still fails; {Count} request(s) refused (retryable)", EventName = "WalWriteStillFailing")]
    public static partial void WalWriteStillFailing(ILogger logger, string tenant, int count);

    [LoggerMessage(4017, LogLevel.Information, "tenant {Tenant}: WAL writes succeed again", EventName = "WalWriteRecovered")]
    public static partial void WalWriteRecovered(ILogger logger, string tenant);

    [LoggerMessage(4021, LogLevel.Information, "tenant {Tenant}: writing blocks succeeds again", EventName = "BlockWriteRecovered")]
    public static partial void BlockWriteRecovered(ILogger logger, string tenant);

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

    [LoggerMessage(4011, LogLevel.Debug, "block {Block} and its index uploaded; {Segments} WAL segment(s) deleted", EventName = "BlockUploaded")]
    public static partial void BlockUploaded(ILogger logger, string block, int segments);

    [LoggerMessage(4012, LogLevel.Warning, "upload of {Object} failed (attempt {Attempt}); retrying in {Delay}; its WAL segments are kept", EventName = "UploadFailed")]
    public static partial void UploadFailed(ILogger logger, string @object, int attempt, TimeSpan delay, Exception exception);

    [LoggerMessage(4013, LogLevel.Warning, "stopping with {Object} not uploaded; its WAL segments are kept and are recovered and uploaded at the next start", EventName = "UploadAbandoned")]
    public static partial void UploadAbandoned(ILogger logger, string @object);

    [LoggerMessage(4014, LogLevel.Information, "{Path} uploaded as {Object} and removed locally", EventName = "LocalObjectUploaded")]
    public static partial void LocalObjectUploaded(ILogger logger, string path, string @object);

    [LoggerMessage(4015, LogLevel.Warning, "retention over object storage failed; the next pass tries again", EventName = "RetentionFailed")]
    public static partial void RetentionFailed(ILogger logger, Exception exception);

    [LoggerMessage(4018, LogLevel.Warning, "exporter {Exporter}: {Count} WAL segment(s) of tenant {Tenant} it had not forwarded are gone from {Store} (removed outside the collector, or left empty by a crash); what they held was not forwarded", EventName = "ForwardedSegmentsGone")]
    public static partial void ForwardedSegmentsGone(ILogger logger, string exporter, int count, string tenant, string store);

    [LoggerMessage(4022, LogLevel.Warning, "WAL cursor {Cursor} of tenant {Tenant} belongs to no forwarder reading {Store} in this config (renamed, removed, or now in a pipeline without the store): the records named for it in {Count} segment(s) it had not passed are not forwarded by any other forwarder", EventName = "ForwarderCursorOrphaned")]
    public static partial void ForwarderCursorOrphaned(ILogger logger, string cursor, string tenant, string store, int count);

    [LoggerMessage(4023, LogLevel.Information, "WAL cursor {Cursor} of tenant {Tenant} deleted: it belongs to no forwarder reading {Store} in this config and no segment is owed to it any more", EventName = "ForwarderCursorDeleted")]
    public static partial void ForwarderCursorDeleted(ILogger logger, string cursor, string tenant, string store);

    [LoggerMessage(4019, LogLevel.Debug, "retention keeps {Count} object(s) of tenant {Tenant} a forwarder reading the WAL has not passed ({Reason} applies; they go once it has)", EventName = "RetentionHeld")]
    public static partial void RetentionHeld(ILogger logger, int count, string tenant, string reason);

    [LoggerMessage(4020, LogLevel.Debug, "{Path} uploaded as {Object}; kept locally until every forwarder reading the WAL has passed it", EventName = "UploadedKeptForForwarder")]
    public static partial void UploadedKeptForForwarder(ILogger logger, string path, string @object);
}
