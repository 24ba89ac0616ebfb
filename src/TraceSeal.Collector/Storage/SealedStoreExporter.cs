using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Storage;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Otlp.Queue;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage.Blocks;
using TraceSeal.Collector.Storage.Wal;
using TraceSeal.Sealing;
using TraceSeal.Sealing.Files;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;
using TraceSeal.Storage.Objects;

namespace TraceSeal.Collector.Storage;

/// <summary>
/// `sealed_store`: every accepted request goes into its tenant's sealed WAL (group commit, fsync) before it
/// is acknowledged, then into sealed blocks with a sealed index (layouts: Storage/Format/StoreFormat.cs,
/// docs/format.md §12). The exporter holds recipient (public) keys only: it can seal, never open — not even
/// its own WAL. Recovery after a crash therefore never folds old segments into blocks; it cuts a torn
/// tail and moves them aside as `.walseg` objects that readers scan in full.
///
/// With `s3` the WAL stays local (acknowledgements never wait for S3) and sealed blocks, indexes and
/// recovered segments are uploaded in the background by a <see cref="BlockUploader"/> under `s3::prefix`,
/// with the same key layout as the filesystem store.
/// </summary>
internal sealed class SealedStoreExporter : IExporter
{
    private readonly StoreContext _ctx;
    private readonly ConcurrentDictionary<string, TenantStore> _tenants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ulong> _lastSeq = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private CancellationTokenSource? _timerStop;
    private Task? _timer;
    private FileStream? _lock;
    private readonly S3ObjectStore? _s3;
    private readonly List<WalConsumer> _consumers = [];
    private IRecipient[] _forwardRecipients = [];
    private bool _running;

    /// <param name="remote">Tests only: the object store to upload to instead of the one `s3` describes.</param>
    public SealedStoreExporter(string id, SealedStoreExporterSettings settings, IReadOnlyList<IRecipient> recipients, ILogger logger, TimeProvider? time = null, IObjectStore? remote = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(recipients);
        ArgumentNullException.ThrowIfNull(logger);
        if (recipients.Count == 0)
        {
            throw new ArgumentException("at least one recipient is required", nameof(recipients));
        }

        Id = id;
        var root = Path.GetFullPath(settings.Directory);
        time ??= TimeProvider.System;
        var local = new FileSystemObjectStore(root);
        if (remote is null && settings.S3 is { } s3)
        {
            // Credentials: the AWS SDK's default chain (environment, profile, web identity, container/instance role).
            // Under this collector's own prefix (docs/format.md §15.3): many collectors share one bucket.
            var collectorId = settings.CollectorId ?? TraceSeal.Storage.Format.CollectorIdFile.LoadOrCreate(root);
            _s3 = new S3ObjectStore(s3.Bucket, TraceSeal.Storage.Format.CollectorIdFile.Prefix(s3.Prefix, collectorId), s3.Endpoint, s3.Region, s3.ForcePathStyle, s3.SseKmsKeyId);
            remote = _s3;
        }

        var holds = new ForwardHolds(root);
        _ctx = new StoreContext
        {
            Root = root,
            Settings = settings,
            Recipients = recipients,
            Time = time,
            Logger = logger,
            Local = local,
            Holds = holds,
            Uploader = remote is null ? null : new BlockUploader(remote, local, logger, time, settings.Retention, holds),
        };
    }

    public string Id { get; }

    /// <summary>The store's root directory.</summary>
    public string Root => _ctx.Root;

    /// <summary>With `s3`: blocks go to the bucket; a local copy stays while a forwarder still reads it (<see cref="ForwardHolds"/>).</summary>
    public bool UsesObjectStorage => _ctx.Uploader is not null;

    /// <summary>
    /// A forwarder that reads this store's WAL instead of logging every request again (docs/architecture.md): every
    /// segment gets a key header sealed to its key, and it forwards each tenant's frames from a cursor of its own.
    /// Before <see cref="StartAsync"/>.
    /// </summary>
    public void AddConsumer(WalConsumer consumer)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        if (_running)
        {
            throw new InvalidOperationException("consumers are added before the store starts");
        }

        _consumers.Add(consumer);
        _forwardRecipients = _consumers.Select(c => c.Key.Recipient).DistinctBy(r => r.KeyId).ToArray();
    }

    /// <summary>The forwarders reading this store's WAL.</summary>
    public IReadOnlyList<WalConsumer> Consumers => _consumers;

    /// <summary>Bytes of the WAL <paramref name="consumerId"/> has not yet forwarded, over all tenants.</summary>
    public long ForwardBacklogBytes(string consumerId) => _tenants.Values
        .SelectMany(t => t.Feeds)
        .Where(f => string.Equals(f.Consumer.Id, consumerId, StringComparison.Ordinal))
        .Sum(f => f.BacklogBytes);

    /// <summary>Frames written over all tenants: each is one group commit.</summary>
    public long FramesWritten => _tenants.Values.Sum(t => t.Frames);

    /// <summary>Requests acknowledged over all tenants.</summary>
    public long RequestsCommitted => _tenants.Values.Sum(t => t.Commits);

    /// <summary>True while WAL commits fail (e.g. a full disk): clients get retryable refusals, /readyz says so.</summary>
    public bool IsFailing => _tenants.Values.Any(t => t.IsWriteFailing);

    /// <summary>True while a tenant refused a request for its backlog within the last few seconds (/readyz says so).</summary>
    public bool BacklogRefusedRecently => _tenants.Values.Any(t => t.BacklogRefusedRecently);

    /// <summary>Sealed WAL bytes not yet in a block, per tenant (self-telemetry; bounded by wal::max_backlog_bytes).</summary>
    public IEnumerable<KeyValuePair<string, long>> WalBacklogBytesByTenant =>
        _tenants.Select(t => new KeyValuePair<string, long>(t.Key, t.Value.BacklogBytes));

    /// <summary>
    /// Loads the recipient files named by the config and builds the exporter. Refuses any file that holds
    /// a private key: a collector must be able to seal but never to open.
    /// </summary>
    public static SealedStoreExporter Create(string id, SealedStoreExporterSettings settings, string configPath, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var recipients = new List<IRecipient>();
        for (int i = 0; i < settings.Recipients.Count; i++)
        {
            var path = settings.Recipients[i];
            if (KeyFiles.IsIdentityFile(path))
            {
                throw new InvalidOperationException(
                    $"{configPath}: exporters::{id}::recipients[{i}]: {path} holds a private identity key; a collector must only hold " +
                    "recipient (public) keys — list NAME.recipient.pem and keep NAME.identity.pem on the reader's host");
            }

            recipients.Add(KeyFiles.LoadRecipient(path));
        }

        return new SealedStoreExporter(id, settings, recipients, logger, time);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var root = _ctx.Root;
        DirectorySync.CreatePrivate(root);
        DirectorySync.EnsureDirectory(root, Path.Combine(root, StoreFormat.WalDir), fsync: true);
        DirectorySync.EnsureDirectory(root, Path.Combine(root, StoreFormat.BlocksDir), fsync: true);
        _lock = TakeLock(root);
        try
        {
            Recover();
            RecoverFeeds();
        }
        catch
        {
            _lock.Dispose();
            _lock = null;
            throw;
        }

        // Everything an earlier run left under the local blocks/ folder (recovered segments, blocks of a
        // filesystem-store run) goes to the bucket first, then is removed locally.
        _ctx.Uploader?.Start(_ctx.Local.List(StoreFormat.BlocksDir + "/").Select(e => e.Key));
        _timerStop = new CancellationTokenSource();
        _timer = TickAsync(_timerStop.Token);
        _running = true;
        return Task.CompletedTask;
    }

    public ValueTask<SinkResult> ExportAsync(ReceivedBatch batch, CancellationToken cancellationToken)
    {
        if (!_running)
        {
            return ValueTask.FromResult(SinkResult.Refuse(StoreContext.RetryAfter, "sealed store is not running"));
        }

        if (!StoreFormat.IsValidTenant(batch.Tenant))
        {
            // The tenant rules only produce valid names; anything else must never become a path.
            return ValueTask.FromResult(SinkResult.Unsupported("tenant name is not usable as a storage path"));
        }

        return Tenant(batch.Tenant).AppendAsync(batch);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!_running)
        {
            return;
        }

        _running = false;
        await StopTimerAsync().ConfigureAwait(false);
        foreach (var tenant in _tenants.Values)
        {
            await tenant.StopAsync().ConfigureAwait(false);
        }

        await StopFeedsAsync().ConfigureAwait(false);

        if (_ctx.Uploader is { } uploader)
        {
            await uploader.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        _lock?.Dispose();
        _lock = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _s3?.Dispose();
    }

    /// <summary>With `s3`: the uploader (tests: <see cref="BlockUploader.FlushAsync"/> waits for the uploads of cut blocks).</summary>
    internal BlockUploader? Uploader => _ctx.Uploader;

    /// <summary>Cuts every tenant's block now (tests; `block::max_bytes` and `block::max_age` do it in production).</summary>
    internal async Task CutBlocksAsync()
    {
        foreach (var tenant in _tenants.Values)
        {
            await tenant.ControlAsync(WalItemKind.Cut).ConfigureAwait(false);
        }
    }

    /// <summary>Tests: stop the way kill -9 would — no block cut, WAL segments left as they are, lock released.</summary>
    internal async Task CrashAsync()
    {
        _running = false;
        await StopTimerAsync().ConfigureAwait(false);
        foreach (var tenant in _tenants.Values)
        {
            await tenant.CrashAsync().ConfigureAwait(false);
        }

        await StopFeedsAsync().ConfigureAwait(false);

        if (_ctx.Uploader is { } uploader)
        {
            await uploader.CrashAsync().ConfigureAwait(false);
        }

        _lock?.Dispose();
        _lock = null;
    }

    private TenantStore Tenant(string tenant)
    {
        if (_tenants.TryGetValue(tenant, out var store))
        {
            return store;
        }

        lock (_gate)
        {
            if (_tenants.TryGetValue(tenant, out store))
            {
                return store;
            }

            store = NewTenant(tenant, []);
            _tenants[tenant] = store;
            return store;
        }
    }

    /// <summary>A tenant's writer, and a feed (with its sender started) per forwarder, holding what recovery found for it.</summary>
    private TenantStore NewTenant(string tenant, IReadOnlyList<WalFeed> recovered)
    {
        if (_consumers.Count == 0)
        {
            return new TenantStore(_ctx, tenant, _lastSeq.GetValueOrDefault(tenant));
        }

        var walDir = Path.Combine(_ctx.Root, StoreFormat.WalDir, tenant);
        var feeds = _consumers.Select(c => recovered.FirstOrDefault(f => ReferenceEquals(f.Consumer, c))
            ?? new WalFeed(c, tenant, walDir, ReadCursor(walDir, c), _lastSeq.GetValueOrDefault(tenant))).ToArray();
        var store = new TenantStore(_ctx, tenant, _lastSeq.GetValueOrDefault(tenant), feeds, _forwardRecipients);
        foreach (var feed in feeds)
        {
            feed.Start();
        }

        return store;
    }

    private static QueueCursor ReadCursor(string walDir, WalConsumer consumer) =>
        Directory.Exists(walDir) ? QueueCursor.Read(walDir, consumer.CursorFileName) : default;

    private async Task StopFeedsAsync()
    {
        foreach (var tenant in _tenants.Values)
        {
            foreach (var feed in tenant.Feeds)
            {
                await feed.StopAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// After <see cref="Recover"/> moved the segments of an earlier run to blocks/ (as `.walseg`): every key header
    /// (`wal/TENANT/SEQ-ID.walkey`, docs/format.md §14.11) names a segment some forwarder had not passed. Each is found
    /// where it now lies (`.walseg` or `.block`), walked without keys, and handed to the feeds whose cursor lies before
    /// its end; a key header no forwarder needs any more, or whose segment is gone, is deleted.
    /// </summary>
    private void RecoverFeeds()
    {
        var walRoot = Path.Combine(_ctx.Root, StoreFormat.WalDir);
        foreach (var walDir in Directory.GetDirectories(walRoot))
        {
            var tenant = Path.GetFileName(walDir);
            if (!StoreFormat.IsValidTenant(tenant))
            {
                continue;
            }

            // Sequence numbers must stay above every cursor and key header: a new segment that reused a cursor's
            // number would be read from that cursor's frame, skipping its first frames. (Small segments can run
            // ahead of the clock the writer otherwise starts from.)
            var cursors = _consumers.Select(c => QueueCursor.Read(walDir, c.CursorFileName)).ToList();
            var keyHeaders = Directory.GetFiles(walDir, "*" + WalFeed.KeyHeaderExtension);
            Array.Sort(keyHeaders, StringComparer.Ordinal);
            ulong lastSeq = cursors.Select(c => c.Seq).Append(_lastSeq.GetValueOrDefault(tenant)).Max();
            foreach (var keyHeaderPath in keyHeaders)
            {
                if (StoreFormat.TryParseLogStem(Path.GetFileNameWithoutExtension(keyHeaderPath), out var seq, out _))
                {
                    lastSeq = Math.Max(lastSeq, seq);
                }
            }

            _lastSeq[tenant] = lastSeq;
            SettleOrphanedCursors(tenant, walDir, keyHeaders);
            if (keyHeaders.Length == 0)
            {
                continue;
            }

            var located = LocateSegments(tenant);
            var feeds = _consumers.Select((c, i) => new WalFeed(c, tenant, walDir, cursors[i], lastSeq)).ToList();
            var lost = new int[_consumers.Count];
            foreach (var keyHeaderPath in keyHeaders)
            {
                var stem = Path.GetFileNameWithoutExtension(keyHeaderPath);
                if (!StoreFormat.TryParseLogStem(stem, out var seq, out var id) || !located.TryGetValue(id, out var path))
                {
                    // Its segment is gone. Retention and the uploader keep a segment while its key header exists
                    // (ForwardHolds), so either its first write failed (then it has no frames, and a forwarder whose
                    // cursor is at its start lost nothing), or something outside the collector removed it: then every
                    // forwarder whose cursor lies inside or before it did not forward its data. Said, and counted.
                    for (int i = 0; i < cursors.Count; i++)
                    {
                        if (cursors[i].Seq < seq || (cursors[i].Seq == seq && cursors[i] != new QueueCursor(seq, 0, 0)))
                        {
                            lost[i]++;
                        }
                    }

                    AtomicFile.TryDelete(keyHeaderPath);
                    continue;
                }

                RecoverSegment(feeds, keyHeaderPath, path, seq, id);
            }

            for (int i = 0; i < lost.Length; i++)
            {
                if (lost[i] > 0)
                {
                    _consumers[i].Counters.OnLostSegments(lost[i]);
                    StorageLog.ForwardedSegmentsGone(_ctx.Logger, _consumers[i].Id, lost[i], tenant, Id);
                }
            }

            DirectorySync.Fsync(walDir);
            if (_consumers.Count > 0)
            {
                _tenants[tenant] = NewTenant(tenant, feeds);
            }
        }
    }

    /// <summary>
    /// Cursor files of forwarders that do not read this WAL in this config (their exporter renamed or removed, or now
    /// in a pipeline without the store). One still owed segments (key headers at or after its position remain) is kept
    /// and warned about: the version 2 records that name it (docs/format.md §14.12) are no other forwarder's, so they
    /// are not forwarded, and said at start, not silent; kept, so that the forwarder put back under its old id goes on
    /// from where it stopped while another forwarder still holds those segments. One owed nothing is deleted (logged):
    /// it only said where a forwarder that is gone stopped, and left alone such files would pile up with every rename.
    /// "Owed" over-counts: a segment written after the change has a key header at or after the cursor too, and which
    /// forwarders its records name is sealed. With no forwarder left on the store the cursor goes at the second start
    /// (the first lets its segments go); while other forwarders read the WAL, the live segment's key header usually
    /// keeps it (docs/configuration.md says so; bounding "owed" by the sequence number at which the cursor was first
    /// found orphaned would need that number persisted beside it).
    /// </summary>
    private void SettleOrphanedCursors(string tenant, string walDir, string[] keyHeaders)
    {
        bool deleted = false;
        foreach (var cursorPath in Directory.GetFiles(walDir, "forward-*" + WalFeed.CursorExtension))
        {
            string name = Path.GetFileName(cursorPath);
            if (_consumers.Any(c => c.CursorFileName == name))
            {
                continue;
            }

            ulong from;
            try
            {
                from = QueueCursor.Read(walDir, name).Seq;
            }
            catch (InvalidOperationException)
            {
                from = 0;
            }

            int owed = keyHeaders.Count(k => StoreFormat.TryParseLogStem(Path.GetFileNameWithoutExtension(k), out var seq, out _) && seq >= from);
            if (owed > 0)
            {
                StorageLog.ForwarderCursorOrphaned(_ctx.Logger, name, tenant, Id, owed);
                continue;
            }

            try
            {
                File.Delete(cursorPath);
                deleted = true;
                StorageLog.ForwarderCursorDeleted(_ctx.Logger, name, tenant, Id);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Kept for the next start; it holds nothing back.
            }
        }

        if (deleted)
        {
            DirectorySync.Fsync(walDir);
        }
    }

    private void RecoverSegment(List<WalFeed> feeds, string keyHeaderPath, string path, ulong seq, string id)
    {
        var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        List<LogFrame> frames;
        try
        {
            var scan = LogScan.Scan(file);
            frames = [.. scan.Frames.Take(scan.DataFrames)];
        }
        catch (SealedIntegrityException)
        {
            frames = [];
        }

        var owing = feeds.Where(f => f.StartCursor.Seq < seq || (f.StartCursor.Seq == seq && f.StartCursor.Frame < frames.Count)).ToList();
        if (owing.Count == 0)
        {
            file.Dispose();
            _ctx.Holds.Passed(keyHeaderPath);
            return;
        }

        var keyHeader = File.ReadAllBytes(keyHeaderPath);
        var shared = new ForwardedSegment(keyHeaderPath, owing.Count, file, _ctx.Holds);
        foreach (var feed in owing)
        {
            var segment = new QueueSegment(seq, id, path, recovered: [.. frames], keyHeader: keyHeader, sharedFile: file);
            feed.Add(segment, shared, segment.BytesFrom(feed.StartCursor.Seq == seq ? feed.StartCursor.Frame : 0));
        }
    }

    /// <summary>Where each segment of an earlier run now lies, by the id in its name: recovered `SEQ-ID.walseg` or block `ID.block`.</summary>
    private Dictionary<string, string> LocateSegments(string tenant)
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        var blocks = Path.Combine(_ctx.Root, StoreFormat.BlocksDir, tenant);
        if (!Directory.Exists(blocks))
        {
            return found;
        }

        foreach (var path in Directory.EnumerateFiles(blocks, "*", SearchOption.AllDirectories))
        {
            var stem = Path.GetFileNameWithoutExtension(path);
            var extension = Path.GetExtension(path);
            if (extension == StoreFormat.RecoveredExtension && StoreFormat.TryParseLogStem(stem, out _, out var id))
            {
                found[id] = path;
            }
            else if (extension == StoreFormat.BlockExtension && stem.Length == 16)
            {
                found[stem] = path;
            }
        }

        return found;
    }

    private void Recover()
    {
        var walRoot = Path.Combine(_ctx.Root, StoreFormat.WalDir);
        var now = _ctx.Time.GetUtcNow();
        foreach (var dir in Directory.GetDirectories(walRoot))
        {
            var tenant = Path.GetFileName(dir);
            if (!StoreFormat.IsValidTenant(tenant))
            {
                StorageLog.WalDirectoryIgnored(_ctx.Logger, dir);
                continue;
            }

            _lastSeq[tenant] = WalRecovery.RecoverTenant(_ctx.Root, tenant, now, _ctx.Fsync, _ctx.Logger);
        }

        var blocksRoot = Path.Combine(_ctx.Root, StoreFormat.BlocksDir);
        foreach (var temp in Directory.GetFiles(blocksRoot, "*" + StoreFormat.TempExtension, SearchOption.AllDirectories))
        {
            File.Delete(temp);
            StorageLog.TempFileRemoved(_ctx.Logger, temp);
        }
    }

    private static FileStream TakeLock(string root)
    {
        var path = Path.Combine(root, StoreFormat.LockFile);
        return DirectoryLock.TryTake(path)
            ?? throw new InvalidOperationException($"{root}: another collector is using this sealed store directory ({path} is locked)");
    }

    private async Task TickAsync(CancellationToken stop)
    {
        var maxAge = _ctx.Settings.Block.MaxAge;
        var period = TimeSpan.FromTicks(Math.Clamp(maxAge.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(5).Ticks));
        using var timer = new PeriodicTimer(period, _ctx.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                foreach (var tenant in _tenants.Values)
                {
                    await tenant.ControlAsync(WalItemKind.Tick).ConfigureAwait(false);
                }

                // With `s3` retention runs over the bucket on the uploader loop (the tenants' loops skip it).
                _ctx.Uploader?.RequestRetention();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task StopTimerAsync()
    {
        if (_timerStop is null)
        {
            return;
        }

        await _timerStop.CancelAsync().ConfigureAwait(false);
        if (_timer is not null)
        {
            await _timer.ConfigureAwait(false);
        }

        _timerStop.Dispose();
        _timerStop = null;
    }
}
