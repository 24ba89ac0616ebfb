using TraceSeal.Storage.Log;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Query;
using TraceSeal.Storage.Tests.TestSupport;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;

namespace TraceSeal.Storage.Tests;

/// <summary>The sealed WAL: group commit, backlog bound, segment roll, crash recovery.</summary>
public sealed class WalTests : IDisposable
{
    private readonly StoreFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Sixteen_concurrent_appenders_are_all_acknowledged_in_fewer_frames_than_appends()
    {
        await using var exporter = await _f.StartAsync();
        const int writers = 16;
        const int perWriter = 10;
        using var start = new Barrier(writers);
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            start.SignalAndWait();
            var results = new List<SinkResult>();
            for (int i = 0; i < perWriter; i++)
            {
                results.Add(await exporter.ExportAsync(Batch(Request("svc", [(w * perWriter) + i + 1])), default));
            }

            return results;
        })).ToArray();
        var all = (await Task.WhenAll(tasks)).SelectMany(r => r).ToList();

        Assert.All(all, r => Assert.Equal(SinkResult.Ok, r));
        Assert.Equal(writers * perWriter, exporter.RequestsCommitted);
        Assert.True(exporter.FramesWritten < exporter.RequestsCommitted, $"{exporter.FramesWritten} frames for {exporter.RequestsCommitted} appends");
        Assert.Equal(writers * perWriter, _f.Reader().Query(new TraceQuery { Limit = 0 }).TraceCount);
    }

    [Fact]
    public async Task Beyond_the_backlog_limit_requests_are_refused_retryably()
    {
        await using var exporter = await _f.StartAsync(_f.Settings(backlog: 1000));
        Assert.Equal(SinkResult.Ok, await exporter.ExportAsync(Batch(Request("svc", [1])), default));

        var refused = await exporter.ExportAsync(Batch(Request("svc", [.. Enumerable.Range(2, 20)])), default);
        Assert.False(refused.Accepted);
        Assert.True(refused.Retryable);
        Assert.Equal("wal backlog limit reached", refused.Reason);

        await exporter.CutBlocksAsync(); // a block frees the backlog
        Assert.Equal(SinkResult.Ok, await exporter.ExportAsync(Batch(Request("svc", [2])), default));
    }

    [Fact]
    public async Task Segments_roll_by_size_and_each_closed_segment_becomes_its_own_block()
    {
        await using var exporter = await _f.StartAsync(_f.Settings(segmentBytes: 1));
        for (int i = 1; i <= 4; i++)
        {
            await exporter.ExportAsync(Batch(Request("svc", [i])), default);
        }

        // Each frame fills its segment, which rolls; the cut loop renames it meanwhile: every span is readable throughout.
        Assert.Equal(4, _f.Reader().Query(new TraceQuery()).TraceCount);
        await exporter.CutBlocksAsync();
        Assert.Empty(_f.Files("*.wal"));
        Assert.Equal(4, _f.Files("*.block").Count()); // a v2 segment is its block: nothing is folded (docs/format.md §14.4)
        Assert.Equal(4, _f.Files("*.index").Count());
        Assert.Equal(4, _f.Reader().Query(new TraceQuery()).TraceCount);
    }

    [Fact]
    public async Task Blocks_are_cut_when_block_max_bytes_is_reached()
    {
        await using var exporter = await _f.StartAsync(_f.Settings(blockBytes: 1));
        await exporter.ExportAsync(Batch(Request("svc", [1])), default);
        await exporter.ExportAsync(Batch(Request("svc", [2])), default);
        await exporter.CutBlocksAsync(); // a no-op barrier: the loop handled both appends (and their cuts) before it

        Assert.Equal(2, _f.Files("*.block").Count());
        Assert.Empty(_f.Files("*.wal"));
    }

    [Fact]
    public async Task A_torn_tail_is_not_an_error_for_readers_and_is_cut_at_start_keeping_every_complete_frame()
    {
        var first = await _f.StartAsync();
        for (int i = 1; i <= 3; i++)
        {
            await first.ExportAsync(Batch(Request("svc", [i])), default); // sequential: one frame each
        }

        await first.CrashAsync();
        var segment = Assert.Single(_f.Files("*.wal"));
        long full = LogScan.Scan(File.ReadAllBytes(segment)).GoodLength; // without direct I/O's zero fill
        using (var s = new FileStream(segment, FileMode.Open, FileAccess.Write))
        {
            s.SetLength(full - 10); // the last frame is now torn, as a crash mid-write leaves it
        }

        // The writer may still be writing: readers see the complete frames and no error.
        Assert.Equal(2, _f.Reader().Query(new TraceQuery()).TraceCount);

        await using var second = await _f.StartAsync();
        Assert.Empty(_f.Files("*.wal"));
        var recovered = Assert.Single(_f.Files("*.walseg"));
        Assert.True(new FileInfo(recovered).Length < full - 10, "the torn frame was cut");
        var result = _f.Reader().Query(new TraceQuery());
        Assert.Equal(
            [Convert.ToHexString(TraceId(1)), Convert.ToHexString(TraceId(2))],
            result.Request.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).Select(s => Convert.ToHexString(s.TraceId.Span)));
    }

    [Fact]
    public async Task After_a_crash_without_stop_a_restarted_exporter_keeps_every_acknowledged_span_readable()
    {
        var first = await _f.StartAsync();
        await first.ExportAsync(Batch(Request("svc", [1, 2])), default);
        await first.CutBlocksAsync();
        await first.ExportAsync(Batch(Request("svc", [3])), default);
        await first.ExportAsync(Batch(Request("svc", [4])), default);
        await first.CrashAsync(); // no graceful stop: 3 and 4 exist only in the WAL

        Assert.Equal(4, _f.Reader().Query(new TraceQuery()).TraceCount);

        var second = await _f.StartAsync();
        await second.ExportAsync(Batch(Request("svc", [5])), default);
        Assert.Equal(5, _f.Reader().Query(new TraceQuery()).TraceCount); // block + .walseg + live WAL
        await second.StopAsync(default);

        Assert.Empty(_f.Files("*.wal"));
        Assert.Single(_f.Files("*.walseg"));
        Assert.Equal(2, _f.Files("*.block").Count());
        Assert.Equal(5, _f.Reader().Query(new TraceQuery()).TraceCount);
    }

    [Fact]
    public async Task A_second_collector_on_the_same_directory_is_refused()
    {
        await using var first = await _f.StartAsync();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => _f.StartAsync());
        Assert.Contains("another collector is using this sealed store directory", e.Message);
    }

    [Fact]
    public async Task Files_and_directories_are_private_to_the_collector_user()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        await using var exporter = await _f.StartAsync();
        await exporter.ExportAsync(Batch(Request("svc", [1])), default);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Assert.Single(_f.Files("*.wal"))));
        await exporter.CutBlocksAsync();
        foreach (var file in _f.Files("*.*").Where(p => !p.EndsWith(".lock", StringComparison.Ordinal)))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }

        foreach (var dir in Directory.GetDirectories(_f.Store, "*", SearchOption.AllDirectories))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
        }
    }
}

/// <summary>`retention`: oldest first, a block and its index together, never an index without its block.</summary>
public sealed class RetentionTests : IDisposable
{
    private readonly StoreFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Retention_by_size_deletes_the_oldest_blocks_with_their_indexes_and_the_rest_stays_readable()
    {
        await using var exporter = await _f.StartAsync();
        for (int i = 1; i <= 3; i++)
        {
            await exporter.ExportAsync(Batch(Request("svc", [i])), default);
            await exporter.CutBlocksAsync();
        }

        var newest = _f.Reader().Query(new TraceQuery { TraceId = TraceId(3) });
        // A unit is a block with its index and summary (docs/format.md §15.1): room for the largest one.
        long oneBlock = _f.Files("*.*").Where(p => p.EndsWith(".block", StringComparison.Ordinal) || p.EndsWith(".index", StringComparison.Ordinal)
                                                   || p.EndsWith(".summary", StringComparison.Ordinal))
            .GroupBy(Path.GetFileNameWithoutExtension).Max(g => g.Sum(p => new FileInfo(p).Length));
        var settings = _f.Settings();
        var ctx = new Collector.Storage.StoreContext
        {
            Root = _f.Store,
            Settings = new Collector.Exporters.SealedStore.SealedStoreExporterSettings
            {
                Name = settings.Name, Directory = settings.Directory, Recipients = settings.Recipients,
                Retention = new Collector.Exporters.SealedStore.StoreRetentionSettings { MaxBytes = oneBlock },
            },
            Recipients = [],
            Time = TimeProvider.System,
            Logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
        };

        Collector.Storage.Blocks.Retention.Sweep(ctx, "acme");

        Assert.Single(_f.Files("*.block"));
        Assert.Single(_f.Files("*.index"));
        var result = _f.Reader().Query(new TraceQuery());
        Assert.Equal(newest.Request, result.Request);
    }
}
