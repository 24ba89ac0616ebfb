using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Storage.Wal;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Objects;

namespace TraceSeal.Collector.Storage.Blocks;

/// <summary>
/// A cut block waiting for upload: the closed segment (the block) and its index lie under the local `blocks/`
/// folder until both are in the bucket; their bytes count as backlog until then.
/// </summary>
internal sealed class PendingBlock(TenantStore owner, string blockKey, string indexKey, long backlogBytes)
{
    public TenantStore Owner { get; } = owner;
    public string BlockKey { get; } = blockKey;
    public string IndexKey { get; } = indexKey;
    public long BacklogBytes { get; } = backlogBytes;

    /// <summary>A retry after the block went up but the index failed does not upload the block again.</summary>
    public bool BlockUploaded { get; set; }
}

/// <summary>
/// `sealed_store::s3`: one background loop per exporter that puts cut blocks into object storage, in cut
/// order — the block (the closed segment file, as it is), then its index (a reader never sees an index without
/// its block), then deletes the local copies. Also uploads what an earlier run left under the local `blocks/` folder
/// (recovered `.walseg` segments, blocks cut but not uploaded before a stop or crash, blocks of a filesystem-store
/// run) and removes each local copy once it is in the bucket. Failures retry with exponential backoff for as long
/// as it takes; meanwhile the WAL backlog limit refuses new data (retryable), which bounds the pending blocks on
/// local disk and the WAL. A segment a forwarder reading the WAL has not passed (<see cref="ForwardHolds"/>) is uploaded
/// but its local copy stays until every forwarder has passed it; its marker (`wal/TENANT/SEQ-ID.uploaded`) says it is in
/// the bucket, so after a restart it is not put again, only deleted locally once passed. Acknowledgements never wait for this loop. A block is read from the local disk only to upload it:
/// nothing pending is held in memory.
/// </summary>
internal sealed class BlockUploader
{
    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RetentionPeriod = TimeSpan.FromMinutes(1);

    private readonly IObjectStore _remote;
    private readonly FileSystemObjectStore _local;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly StoreRetentionSettings? _retention;
    private readonly ForwardHolds? _holds;
    private readonly Channel<object> _queue = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });

    // Stopping ends backoff waits early (each remaining item gets one last attempt); a crash ends everything.
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _crash = new();
    private Task _loop = Task.CompletedTask;
    private long _uploaded;
    private int _retentionQueued;
    private DateTimeOffset _nextRetention;

    /// <param name="holds">The segments forwarders reading the WAL have not passed: uploaded, but kept locally until they have.</param>
    public BlockUploader(IObjectStore remote, FileSystemObjectStore local, ILogger logger, TimeProvider time, StoreRetentionSettings? retention = null, ForwardHolds? holds = null)
    {
        _holds = holds;
        _retention = retention;
        _remote = remote;
        _local = local;
        _logger = logger;
        _time = time;
    }

    public IObjectStore Remote => _remote;

    /// <summary>Objects put into the bucket so far (tests, metrics).</summary>
    public long Uploaded => Interlocked.Read(ref _uploaded);

    /// <summary>Starts the loop; <paramref name="localKeys"/> (left under the local `blocks/` folder) go first.</summary>
    public void Start(IEnumerable<string> localKeys)
    {
        var keys = localKeys.ToList();
        _holds?.DeleteStaleMarkers(keys);
        foreach (var key in keys)
        {
            _queue.Writer.TryWrite(key);
        }

        _loop = Task.Run(RunAsync);
    }

    /// <summary>False once stopping: the block and its index then stay under the local `blocks/` and go up at the next start.</summary>
    public bool Enqueue(PendingBlock block)
    {
        if (_queue.Writer.TryWrite(block))
        {
            return true;
        }

        StorageLog.UploadAbandoned(_logger, _remote.Describe(block.BlockKey));
        return false;
    }

    /// <summary>
    /// Queues a retention pass over the bucket (`retention`), behind the uploads already queued; at most one
    /// is waiting at a time, so a slow store does not pile them up, and at most one a minute unless
    /// <paramref name="now"/> is set (tests): each pass lists the whole prefix, which costs requests.
    /// </summary>
    public void RequestRetention(bool now = false)
    {
        var at = _time.GetUtcNow();
        if (!now && at < _nextRetention)
        {
            return;
        }

        _nextRetention = at + RetentionPeriod;
        if (_retention is not null && /* retention::max_age has a default (Retention.DefaultMaxAge) */ Interlocked.Exchange(ref _retentionQueued, 1) == 0
            && !_queue.Writer.TryWrite(RetentionPass.Instance))
        {
            Volatile.Write(ref _retentionQueued, 0);
        }
    }

    /// <summary>Completes when everything enqueued before the call is uploaded (or abandoned at stop).</summary>
    public Task FlushAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return _queue.Writer.TryWrite(done) ? done.Task : _loop;
    }

    /// <summary>
    /// Graceful stop: what is queued gets uploaded, or one last attempt each when the store keeps failing;
    /// <paramref name="cancellationToken"/> (the host's shutdown timeout) aborts in-flight uploads.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        await using (cancellationToken.Register(_crash.Cancel).ConfigureAwait(false))
        {
            await _loop.ConfigureAwait(false);
        }
    }

    /// <summary>Tests: stop as kill -9 would — nothing more is uploaded or deleted.</summary>
    public async Task CrashAsync()
    {
        _queue.Writer.TryComplete();
        await _crash.CancelAsync().ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_crash.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    if (item is TaskCompletionSource flush)
                    {
                        flush.TrySetResult();
                    }
                    else if (item is RetentionPass)
                    {
                        await SweepAsync().ConfigureAwait(false);
                    }
                    else
                    {
                        await UploadWithRetryAsync(item).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (Exception) when (_crash.IsCancellationRequested)
        {
            // kill -9 semantics: whatever the in-flight upload threw, its local files stay for the next start
        }
        finally
        {
            _queue.Writer.TryComplete();
            while (reader.TryRead(out var left))
            {
                if (left is TaskCompletionSource flush)
                {
                    flush.TrySetResult();
                }
                else
                {
                    StorageLog.UploadAbandoned(_logger, Describe(left));
                }
            }
        }
    }

    private async Task SweepAsync()
    {
        Volatile.Write(ref _retentionQueued, 0);
        try
        {
            await Retention.SweepAsync(_remote, _retention!, _time.GetUtcNow(), _logger, _crash.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (!_crash.IsCancellationRequested)
        {
            // Not retried here: the next tick queues another pass, and uploads must not wait behind deletes.
            StorageLog.RetentionFailed(_logger, e);
        }
    }

    private async Task UploadWithRetryAsync(object item)
    {
        for (int attempt = 1; ; attempt++)
        {
            _crash.Token.ThrowIfCancellationRequested();
            try
            {
                await UploadAsync(item, _crash.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (!_crash.IsCancellationRequested)
            {
                // Any failure (network, throttling, credentials, a full local disk on delete) is retried: the
                // local copy keeps the data meanwhile, and giving up would leave acknowledged spans out of the bucket.
                if (_stopping.IsCancellationRequested)
                {
                    StorageLog.UploadAbandoned(_logger, Describe(item));
                    return;
                }

                var delay = Backoff(attempt);
                StorageLog.UploadFailed(_logger, Describe(item), attempt, delay, e);
                try
                {
                    await Task.Delay(delay, _time, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // stopping (or crashing): one last attempt, or the crash token ends it
                }
            }
        }
    }

    private async Task UploadAsync(object item, CancellationToken cancellationToken)
    {
        switch (item)
        {
            case PendingBlock block:
                if (!block.BlockUploaded)
                {
                    var blockBytes = _local.Get(block.BlockKey, firstBytes: null)
                        ?? throw new IOException($"{_local.Describe(block.BlockKey)} is missing");
                    await _remote.PutAsync(block.BlockKey, blockBytes, cancellationToken).ConfigureAwait(false);
                    block.BlockUploaded = true;
                    Interlocked.Increment(ref _uploaded);
                }

                var indexBytes = _local.Get(block.IndexKey, firstBytes: null)
                    ?? throw new IOException($"{_local.Describe(block.IndexKey)} is missing");
                await _remote.PutAsync(block.IndexKey, indexBytes, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _uploaded);

                // Then its summary (docs/format.md §15.1), last like on disk: a summary in the bucket implies its index.
                var summaryKey = block.IndexKey[..^StoreFormat.IndexExtension.Length] + StoreFormat.SummaryExtension;
                if (_local.Get(summaryKey, firstBytes: null) is { } summaryBytes)
                {
                    await _remote.PutAsync(summaryKey, summaryBytes, cancellationToken).ConfigureAwait(false);
                    Interlocked.Increment(ref _uploaded);
                    _local.Delete(summaryKey);
                }

                _local.Delete(block.IndexKey);
                var blockLocation = _remote.Describe(block.BlockKey);
                if (_holds?.KeepUploaded(block.BlockKey, blockLocation) == true)
                {
                    StorageLog.UploadedKeptForForwarder(_logger, _local.Describe(block.BlockKey), blockLocation);
                }
                else
                {
                    _local.Delete(block.BlockKey);
                }

                block.Owner.BlockUploaded(block.BacklogBytes);
                StorageLog.BlockUploaded(_logger, _remote.Describe(block.BlockKey), 1);
                break;

            case string localKey:
                var location = _remote.Describe(localKey);

                // Kept for a forwarder and put by an earlier run (its marker): not again.
                if (_holds?.InBucket(localKey, location) != true)
                {
                    var bytes = _local.Get(localKey, firstBytes: null);
                    if (bytes is null)
                    {
                        return;
                    }

                    await _remote.PutAsync(localKey, bytes, cancellationToken).ConfigureAwait(false);
                    Interlocked.Increment(ref _uploaded);
                }

                if (_holds?.KeepUploaded(localKey, location) == true)
                {
                    StorageLog.UploadedKeptForForwarder(_logger, _local.Describe(localKey), location);
                    break;
                }

                _local.Delete(localKey);
                _holds?.LocalCopyDeleted(localKey);
                StorageLog.LocalObjectUploaded(_logger, _local.Describe(localKey), location);
                break;
        }
    }

    private string Describe(object item) => item switch
    {
        PendingBlock block => _remote.Describe(block.BlockKey),
        RetentionPass => "retention pass",
        string localKey => _local.Describe(localKey),
        _ => "?",
    };

    private static TimeSpan Backoff(int attempt)
    {
        var ticks = Math.Min(MaxBackoff.Ticks, MinBackoff.Ticks << Math.Min(attempt - 1, 20));

        // ±20% jitter: many collectors behind one load balancer must not retry against S3 in lockstep.
        return TimeSpan.FromTicks((long)(ticks * (0.8 + (Random.Shared.NextDouble() * 0.4))));
    }
}

/// <summary>Queue marker: run retention over the bucket when the uploader reaches it.</summary>
internal sealed class RetentionPass
{
    public static readonly RetentionPass Instance = new();

    private RetentionPass()
    {
    }
}
