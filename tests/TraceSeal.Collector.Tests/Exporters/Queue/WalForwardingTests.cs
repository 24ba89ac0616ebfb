using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Hosting;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage;
using TraceSeal.Collector.Storage.Blocks;
using TraceSeal.Collector.Storage.Wal;
using TraceSeal.Collector.Telemetry;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using TraceSeal.Sealing;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Collector.Tests.Exporters.Queue;

/// <summary>
/// The WAL as the one acknowledgement point: a pipeline with `sealed_store` and an `otlp` / `otlphttp` exporter seals and
/// fsyncs each request once, in the store's WAL, and the forwarder reads that log with a cursor of its own.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class WalForwardingTests : IDisposable
{
    private const int SpansPerBatch = 3;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly ReceiverTestPki _pki = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-walfwd-").FullName;

    private readonly S3rverFixture _s3;

    /// <param name="s3">A real S3-compatible server (s3rver on loopback) for the store with `s3`.</param>
    public WalForwardingTests(S3rverFixture s3)
    {
        _s3 = s3;
        KeyFiles.Init(Path.Combine(_dir, "keys"), "ops");
    }

    public void Dispose()
    {
        _pki.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string StoreDir => Path.Combine(_dir, "data");

    private string WalDir => Path.Combine(StoreDir, "wal", "default");

    [Fact]
    public async Task A_request_is_sealed_and_fsynced_once_and_forwarded_from_the_wal_after_an_outage()
    {
        const int batches = 12;
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        var (store, forwarder) = await StartAsync(upstream, "otlp");
        await using (forwarder)
        await using (store)
        {
            // Upstream is down: every request is acknowledged once it is in the WAL, without waiting for upstream.
            for (int i = 0; i < batches; i++)
            {
                SinkResult result = await store.ExportAsync(ExporterTestSupport.Batch(OtlpSignal.Traces, SpansPerBatch), CancellationToken.None);
                Assert.True(result.Accepted, result.Reason);
            }

            // One sealed write per request: one WAL frame each, and no queue segment of the forwarder's own.
            Assert.Equal(batches, store.FramesWritten);
            Assert.Empty(QueueTestSupport.Segments(QueueDir("otlp")));
            Assert.Single(Directory.GetFiles(WalDir, "*" + WalFeed.KeyHeaderExtension));
            Assert.True(forwarder.QueueBacklogBytes > 0);
            await Eventually.TrueAsync(() => forwarder.Counters.Retried > 0, "the forwarder to retry against the closed port", Deadline);

            await upstream.StartAsync();
            await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == batches * SpansPerBatch, "every acknowledged span upstream", Deadline);
            await Eventually.TrueAsync(() => forwarder.QueueBacklogBytes == 0, "the forwarder's backlog to drain", Deadline);

            // The key header lives as long as the segment is live or owed to a forwarder: cut, then passed, it goes.
            await store.CutBlocksAsync();
            await Eventually.TrueAsync(() => Directory.GetFiles(WalDir, "*" + WalFeed.KeyHeaderExtension).Length == 0, "the key header to be deleted", Deadline);
            Assert.Single(Directory.GetFiles(Path.Combine(StoreDir, "blocks"), "*.block", SearchOption.AllDirectories));
            Assert.Equal(batches * SpansPerBatch, forwarder.Counters.Sent);
            Assert.Equal(0, forwarder.Counters.Replayed);

            // The pipelines never call it, yet it is counted like every exporter: what upstream accepted, and its
            // unforwarded WAL bytes as its queue (capacity: the store's wal::max_backlog_bytes, set by WalForwarding).
            PipelineStats.SetQueueCapacity(forwarder, 1L << 30);
            string metrics = new CollectorMetrics([], new Dictionary<string, IExporter> { ["otlp"] = forwarder, ["sealed_store"] = store }, TimeProvider.System).Render();
            Assert.Contains($"otelcol_exporter_sent_spans{{exporter=\"otlp\"}} {batches * SpansPerBatch}\n", metrics, StringComparison.Ordinal);
            Assert.Contains("otelcol_exporter_send_failed_spans{exporter=\"otlp\"} 0\n", metrics, StringComparison.Ordinal);
            Assert.Contains("otelcol_exporter_queue_size{exporter=\"otlp\"} 0\n", metrics, StringComparison.Ordinal);
            Assert.Contains("traceseal_exporter_wal_segments_lost_total{exporter=\"otlp\"} 0\n", metrics, StringComparison.Ordinal);

            // The store's group commits: sequential requests, one frame each.
            Assert.Contains($"traceseal_wal_frames_total{{exporter=\"sealed_store\"}} {batches}\n", metrics, StringComparison.Ordinal);
            Assert.Contains($"traceseal_wal_requests_total{{exporter=\"sealed_store\"}} {batches}\n", metrics, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_forwarder_reading_the_wal_keeps_num_consumers_requests_in_flight_and_passes_the_segment_once_all_completed()
    {
        const int consumers = 4;
        const int records = 8; // 1..8 spans each
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        var held = new HeldRequests(upstream.Sink) { ReleaseAt = consumers };
        await upstream.StartAsync();

        // A 30 s attempt timeout: a request held at the sink is not abandoned and retried while the others arrive.
        var (store, forwarder) = await StartAsync(upstream, "otlp", forwarder: Forwarder(upstream, "otlp", consumers, TimeSpan.FromSeconds(30)));
        await using (forwarder)
        await using (store)
        {
            for (int i = 1; i <= records; i++)
            {
                Assert.True((await store.ExportAsync(ExporterTestSupport.Batch(OtlpSignal.Traces, i), CancellationToken.None)).Accepted);
            }

            // The sink answers nobody until 4 requests are held there at once.
            await held.WaitReleasedAsync(Deadline);
            Assert.Equal(consumers, held.MaxHeld);

            await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == records * (records + 1) / 2, "every acknowledged span upstream", Deadline);
            await Eventually.TrueAsync(() => forwarder.QueueBacklogBytes == 0, "the forwarder's backlog to drain", Deadline);
            Assert.Equal(records, upstream.Sink.Requests(OtlpSignal.Traces));
            Assert.Equal(Enumerable.Range(1, records), held.Arrivals.Order());
            Assert.InRange(held.MaxHeld, 2, consumers);

            // Cut, the segment is passed (its key header deleted) once the cursor is past every request of it.
            await store.CutBlocksAsync();
            await Eventually.TrueAsync(() => Directory.GetFiles(WalDir, "*" + WalFeed.KeyHeaderExtension).Length == 0, "the key header to be deleted", Deadline);
            Assert.Equal(records * (records + 1) / 2, forwarder.Counters.Sent);
        }
    }

    [Fact]
    public async Task An_attached_forwarder_counts_what_upstream_refused_for_good_as_send_failed()
    {
        await using var upstream = await ScriptedUpstream.StartAsync(_pki);
        byte[] partial = OtlpResponses.Protobuf(OtlpSignal.Traces, rejectedItems: 2, errorMessage: "2 spans too old").ToArray();
        upstream.Enqueue(ScriptedUpstream.Http(200, body: partial), ScriptedUpstream.Http(400));

        // One request in flight: the scripted answers go to the requests in WAL order.
        await using var forwarder = ExporterTestSupport.Create(
            ExporterTestSupport.Settings(OtlpExporterProtocol.Http, $"https://127.0.0.1:{upstream.Port}", new TlsClientSettings { CaFile = _pki.CaPath }, numConsumers: 1));
        var store = SealedStoreExporter.Create("sealed_store", StoreSettings(), Path.Combine(_dir, "collector.yaml"), NullLogger.Instance);
        store.AddConsumer(forwarder.ReadWal("sealed_store", StoreDir));
        await forwarder.StartAsync(CancellationToken.None);
        await store.StartAsync(CancellationToken.None);
        await using (store)
        {
            // One record per request (no batch processor): 5 spans of which upstream rejects 2 (partial success), then
            // 4 spans refused with HTTP 400, then 3 accepted.
            foreach (int spans in (int[])[5, 4, 3])
            {
                Assert.True((await store.ExportAsync(ExporterTestSupport.Batch(OtlpSignal.Traces, spans), CancellationToken.None)).Accepted);
            }

            SignalCounts counts = PipelineStats.For(forwarder);
            await Eventually.TrueAsync(() => counts.Ok(OtlpSignal.Traces) + counts.Failed(OtlpSignal.Traces) == 12, "every span counted", Deadline);
            Assert.Equal(3 + 3, counts.Ok(OtlpSignal.Traces));
            Assert.Equal(2 + 4, counts.Failed(OtlpSignal.Traces));
            Assert.Equal(3, upstream.Requests);
        }
    }

    [Fact]
    public async Task Retention_keeps_a_block_a_lagging_forwarder_has_not_passed_across_a_restart_and_deletes_it_once_passed()
    {
        const int batches = 6;
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        var (store, forwarder) = await StartAsync(upstream, "otlp");
        await using (forwarder)
        await using (store)
        {
            for (int i = 0; i < batches; i++)
            {
                Assert.True((await store.ExportAsync(ExporterTestSupport.Batch(OtlpSignal.Traces, SpansPerBatch), CancellationToken.None)).Accepted);
            }

            await store.CutBlocksAsync();
        }

        // Upstream is still down. retention::max_bytes 1 keeps nothing, and the block is over max_age too: it stays
        // (with its index and summary) while its key header says a forwarder has not passed it.
        SweepRetention();
        Assert.Single(Blocks());
        Assert.Single(Directory.GetFiles(WalDir, "*" + WalFeed.KeyHeaderExtension));

        // Across a restart too: the forwarder finds it in blocks/ by its key header and forwards all of it.
        var (again, forwarderAgain) = await StartAsync(upstream, "otlp");
        await using (forwarderAgain)
        await using (again)
        {
            SweepRetention();
            Assert.Single(Blocks());
            await upstream.StartAsync();
            await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == batches * SpansPerBatch, "every acknowledged span upstream", Deadline);
            await Eventually.TrueAsync(() => Directory.GetFiles(WalDir, "*" + WalFeed.KeyHeaderExtension).Length == 0, "the key header to go once forwarded", Deadline);
            Assert.Equal(0, forwarderAgain.Counters.LostSegments);
        }

        // Passed: retention's rules apply to it again.
        SweepRetention();
        Assert.Empty(Blocks());
        Assert.Empty(Directory.GetFiles(Path.Combine(StoreDir, "blocks"), "*.index", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_segment_removed_outside_the_collector_before_the_forwarder_passed_it_is_a_warning_and_a_count()
    {
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        var (store, forwarder) = await StartAsync(upstream, "otlp");
        await using (forwarder)
        await using (store)
        {
            Assert.True((await store.ExportAsync(ExporterTestSupport.Batch(OtlpSignal.Traces, SpansPerBatch), CancellationToken.None)).Accepted);
            await store.CutBlocksAsync();
        }

        foreach (var block in Blocks())
        {
            File.Delete(block); // an operator's rm, or a tool that does not know about key headers
        }

        using var logs = new CapturingLoggerProvider();
        var (again, forwarderAgain) = await StartAsync(upstream, "otlp", logger: logs.CreateLogger("TraceSeal.Storage"));
        await using (forwarderAgain)
        await using (again)
        {
            var warning = Assert.Single(logs.Messages, m => m.Level == LogLevel.Warning);
            Assert.Equal(
                $"exporter otlp: 1 WAL segment(s) of tenant default it had not forwarded are gone from sealed_store (removed outside the collector, or left empty by a crash); what they held was not forwarded",
                warning.Text);
            Assert.Equal(1, forwarderAgain.Counters.LostSegments);
            Assert.Empty(Directory.GetFiles(WalDir, "*" + WalFeed.KeyHeaderExtension));
            string metrics = new CollectorMetrics([], new Dictionary<string, IExporter> { ["otlp"] = forwarderAgain }, TimeProvider.System).Render();
            Assert.Contains("traceseal_exporter_wal_segments_lost_total{exporter=\"otlp\"} 1\n", metrics, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_key_header_stays_until_every_forwarder_has_passed_its_segment()
    {
        await using var up = new SwitchableUpstream(_pki, OtlpExporterProtocol.Http);
        await using var down = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        await up.StartAsync();
        var store = SealedStoreExporter.Create("sealed_store", StoreSettings(), Path.Combine(_dir, "collector.yaml"), NullLogger.Instance);
        await using var healthy = Forwarder(up, "otlphttp/up");
        await using var slow = Forwarder(down, "otlp/down");
        store.AddConsumer(healthy.ReadWal("sealed_store", StoreDir));
        store.AddConsumer(slow.ReadWal("sealed_store", StoreDir));
        await store.StartAsync(CancellationToken.None);
        await using (store)
        {
            for (int i = 0; i < 5; i++)
            {
                Assert.True((await store.ExportAsync(ExporterTestSupport.Batch(OtlpSignal.Logs, 2), CancellationToken.None)).Accepted);
            }

            await store.CutBlocksAsync();
            await Eventually.TrueAsync(() => up.Sink.Items(OtlpSignal.Logs) == 10, "the healthy forwarder to send everything", Deadline);
            await Eventually.TrueAsync(() => store.ForwardBacklogBytes("otlphttp/up") == 0, "the healthy forwarder's backlog to drain", Deadline);
            Assert.True(store.ForwardBacklogBytes("otlp/down") > 0);
            Assert.Single(Directory.GetFiles(WalDir, "*" + WalFeed.KeyHeaderExtension)); // the slow one still needs it

            await down.StartAsync();
            await Eventually.TrueAsync(() => down.Sink.Items(OtlpSignal.Logs) == 10, "the slow forwarder to send everything", Deadline);
            await Eventually.TrueAsync(() => Directory.GetFiles(WalDir, "*" + WalFeed.KeyHeaderExtension).Length == 0, "the key header to go once both passed", Deadline);
            Assert.Equal(10, up.Sink.Items(OtlpSignal.Logs)); // each forwarder sent its own copy once
        }
    }

    [Fact]
    public async Task A_forwarder_that_falls_behind_gets_clients_refused_retryably_at_the_backlog_limit()
    {
        const long limit = 16 * 1024;
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        var (store, forwarder) = await StartAsync(upstream, "otlp", backlog: limit);
        await using (forwarder)
        await using (store)
        {
            int accepted = 0;
            SinkResult refused = default;
            for (int i = 0; i < 1000 && refused == default; i++)
            {
                SinkResult result = await store.ExportAsync(ExporterTestSupport.Batch(OtlpSignal.Traces, 20), CancellationToken.None);
                if (result.Accepted)
                {
                    accepted++;
                }
                else
                {
                    refused = result;
                }

                // Blocks are cut all along: the block cut is not what falls behind, the forwarder is.
                await store.CutBlocksAsync();
                Assert.Equal(0, store.WalBacklogBytesByTenant.Sum(t => t.Value));
            }

            Assert.True(accepted > 0);
            Assert.False(refused.Accepted);
            Assert.True(refused.Retryable);
            Assert.Equal("wal backlog limit reached", refused.Reason);
            Assert.True(store.BacklogRefusedRecently); // /readyz reports it
            long behind = store.ForwardBacklogBytes("otlp");
            Assert.True(behind is > 0 and <= limit, $"{behind} bytes not forwarded for a limit of {limit}");

            await upstream.StartAsync();
            await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == accepted * 20L, "every accepted span upstream", Deadline);
            await Eventually.TrueAsync(() => forwarder.QueueBacklogBytes == 0, "the backlog to drain", Deadline);
            Assert.True((await store.ExportAsync(ExporterTestSupport.Batch(OtlpSignal.Traces, 20), CancellationToken.None)).Accepted);
        }
    }

    [Fact]
    public async Task Frames_not_yet_forwarded_when_the_collector_dies_are_sent_after_the_restart()
    {
        const int batches = 8;
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Http);
        var (store, forwarder) = await StartAsync(upstream, "otlphttp");
        await using (forwarder)
        {
            for (int i = 0; i < batches; i++)
            {
                Assert.True((await store.ExportAsync(ExporterTestSupport.Batch(OtlpSignal.Traces, SpansPerBatch), CancellationToken.None)).Accepted);
            }

            await store.CrashAsync(); // as kill -9: the live segment stays open, its key header stays
            await store.DisposeAsync();
        }

        var (again, forwarderAgain) = await StartAsync(upstream, "otlphttp");
        await using (forwarderAgain)
        await using (again)
        {
            // Recovery moved the segment to blocks/ as a .walseg; the forwarder follows it there.
            Assert.Single(Directory.GetFiles(Path.Combine(StoreDir, "blocks"), "*.walseg", SearchOption.AllDirectories));
            await upstream.StartAsync();
            await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == batches * SpansPerBatch, "every acknowledged span upstream", Deadline);
            await Eventually.TrueAsync(() => Directory.GetFiles(WalDir, "*" + WalFeed.KeyHeaderExtension).Length == 0, "the key header to go once forwarded", Deadline);
            Assert.Equal(batches * SpansPerBatch, forwarderAgain.Counters.Replayed);
        }
    }

    [Fact]
    public async Task With_s3_a_block_goes_to_the_bucket_but_its_local_copy_stays_until_the_forwarder_passed_it()
    {
        const int batches = 5;
        string prefix = "walfwd-" + Guid.NewGuid().ToString("N")[..8];
        var settings = StoreSettings();
        settings = new SealedStoreExporterSettings
        {
            Name = settings.Name,
            Directory = settings.Directory,
            Recipients = settings.Recipients,
            Wal = settings.Wal,
            Block = settings.Block,
            S3 = new S3StoreSettings { Bucket = S3rverFixture.Bucket, Prefix = prefix + "/", Endpoint = _s3.Endpoint, ForcePathStyle = true },
        };
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        var (store, forwarder) = await StartAsync(upstream, "otlp", settings: settings);
        await using (forwarder)
        await using (store)
        {
            for (int i = 0; i < batches; i++)
            {
                Assert.True((await store.ExportAsync(ExporterTestSupport.Batch(OtlpSignal.Traces, SpansPerBatch), CancellationToken.None)).Accepted);
            }

            // Written once (the WAL; the forwarder's own queue stays empty), uploaded once cut, kept locally: the
            // forwarder, whose upstream is down, has not passed it.
            Assert.Equal(batches, store.FramesWritten);
            await store.CutBlocksAsync();
            await store.Uploader!.FlushAsync();
            Assert.Single(await _s3.KeysAsync(prefix + "/"), k => k.EndsWith(".block", StringComparison.Ordinal));
            Assert.Single(Blocks());
            Assert.Empty(Directory.GetFiles(Path.Combine(StoreDir, "blocks"), "*.index", SearchOption.AllDirectories));
            Assert.Empty(QueueTestSupport.Segments(QueueDir("otlp")));
        }

        // Its marker beside the key header says where in the bucket it is.
        string marker = Assert.Single(Directory.GetFiles(WalDir, "*.uploaded"));
        string blockKey = Path.GetRelativePath(StoreDir, Assert.Single(Blocks())).Replace(Path.DirectorySeparatorChar, '/');
        Assert.StartsWith($"s3://{S3rverFixture.Bucket}/{prefix}/", store.Uploader.Remote.Describe(blockKey), StringComparison.Ordinal);
        Assert.Equal(ForwardHolds.MarkerText(store.Uploader.Remote.Describe(blockKey)), File.ReadAllText(marker));
        Assert.Equal(Path.ChangeExtension(Assert.Single(Directory.GetFiles(WalDir, "*" + WalFeed.KeyHeaderExtension)), ".uploaded"), marker);

        // A restart finds it where it was left and does not put it again; once the forwarder passed it, the local copy
        // and its marker go.
        var (again, forwarderAgain) = await StartAsync(upstream, "otlp", settings: settings);
        await using (forwarderAgain)
        await using (again)
        {
            await again.Uploader!.FlushAsync();
            Assert.Single(Blocks());
            Assert.Equal(0, again.Uploader.Uploaded);
            await upstream.StartAsync();
            await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == batches * SpansPerBatch, "every acknowledged span upstream", Deadline);
            // ForwardHolds.Passed deletes the key header, then the local copy, then (after an fsync) its marker: wait for the last.
            await Eventually.TrueAsync(
                () => Blocks().Length == 0 && Directory.GetFiles(WalDir, "*.uploaded").Length == 0,
                "the local copy and its marker to go once the forwarder passed it",
                Deadline);
            Assert.Empty(Directory.GetFiles(WalDir, "*" + WalFeed.KeyHeaderExtension));
            Assert.Empty(Directory.GetFiles(WalDir, "*.uploaded"));
            Assert.Single(await _s3.KeysAsync(prefix + "/"), k => k.EndsWith(".block", StringComparison.Ordinal));
            Assert.Equal(0, again.Uploader.Uploaded);
            Assert.Equal(0, forwarderAgain.Counters.LostSegments);
        }
    }

    [Fact]
    public async Task With_s3_a_kept_block_is_put_again_after_a_crash_only_when_the_bucket_location_changed()
    {
        const int batches = 4;
        string prefix = "walfwd-" + Guid.NewGuid().ToString("N")[..8];
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        var (store, forwarder) = await StartAsync(upstream, "otlp", settings: S3Settings(prefix + "/a/"));
        await using (forwarder)
        {
            for (int i = 0; i < batches; i++)
            {
                Assert.True((await store.ExportAsync(ExporterTestSupport.Batch(OtlpSignal.Traces, SpansPerBatch), CancellationToken.None)).Accepted);
            }

            await store.CutBlocksAsync();
            await store.Uploader!.FlushAsync();
            await store.CrashAsync(); // as kill -9, with the block kept for the forwarder (upstream is down)
            await store.DisposeAsync();
        }

        Assert.Single(Directory.GetFiles(WalDir, "*.uploaded"));
        File.WriteAllText(Path.Combine(WalDir, "0000000001-fedcba9876543210.uploaded"), ForwardHolds.MarkerText("s3://elsewhere/x.block")); // its copy is gone

        // The same bucket and prefix: not put again (restarted twice).
        for (int restart = 0; restart < 2; restart++)
        {
            var (same, forwarderSame) = await StartAsync(upstream, "otlp", settings: S3Settings(prefix + "/a/"));
            await using (forwarderSame)
            await using (same)
            {
                await same.Uploader!.FlushAsync();
                Assert.Equal(0, same.Uploader.Uploaded);
                Assert.Single(Blocks());
                Assert.Single(Directory.GetFiles(WalDir, "*.uploaded")); // the stale one went at start
            }
        }

        // Another prefix: the marker names another location, so the block goes there too, and the marker follows it.
        var (moved, forwarderMoved) = await StartAsync(upstream, "otlp", settings: S3Settings(prefix + "/b/"));
        await using (forwarderMoved)
        await using (moved)
        {
            await moved.Uploader!.FlushAsync();
            Assert.Equal(1, moved.Uploader.Uploaded);
            Assert.Single(await _s3.KeysAsync(prefix + "/b/"), k => k.EndsWith(".block", StringComparison.Ordinal));
            string blockKey = Path.GetRelativePath(StoreDir, Assert.Single(Blocks())).Replace(Path.DirectorySeparatorChar, '/');
            Assert.StartsWith($"s3://{S3rverFixture.Bucket}/{prefix}/b/", moved.Uploader.Remote.Describe(blockKey), StringComparison.Ordinal);
            Assert.Equal(ForwardHolds.MarkerText(moved.Uploader.Remote.Describe(blockKey)), File.ReadAllText(Assert.Single(Directory.GetFiles(WalDir, "*.uploaded"))));

            await upstream.StartAsync();
            await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) >= batches * SpansPerBatch, "every acknowledged span upstream", Deadline);
            await Eventually.TrueAsync(() => Blocks().Length == 0 && Directory.GetFiles(WalDir, "*.uploaded").Length == 0, "the local copy and its marker to go once passed", Deadline);
            Assert.Equal(1, moved.Uploader.Uploaded);
        }
    }

    private SealedStoreExporterSettings S3Settings(string prefix)
    {
        var settings = StoreSettings();
        return new SealedStoreExporterSettings
        {
            Name = settings.Name,
            Directory = settings.Directory,
            Recipients = settings.Recipients,
            Wal = settings.Wal,
            Block = settings.Block,
            S3 = new S3StoreSettings { Bucket = S3rverFixture.Bucket, Prefix = prefix, Endpoint = _s3.Endpoint, ForcePathStyle = true },
        };
    }

    [Fact]
    public async Task An_attached_forwarders_queue_size_and_capacity_are_both_summed_over_the_tenants()
    {
        const long limit = 1L << 20;
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        var (store, forwarder) = await StartAsync(upstream, "otlp", backlog: limit);
        await using (forwarder)
        await using (store)
        {
            // As the host sets them: the store's own from its settings, the forwarder's by WalForwarding (per tenant).
            PipelineStats.SetQueueCapacity(store, limit);
            PipelineStats.SetQueueCapacity(forwarder, limit);
            var exporters = new Dictionary<string, IExporter> { ["otlp"] = forwarder, ["sealed_store"] = store };

            // No tenant yet: one tenant's worth, not 0.
            string idle = new CollectorMetrics([], exporters, TimeProvider.System).Render();
            Assert.Contains($"otelcol_exporter_queue_capacity{{exporter=\"otlp\"}} {limit}\n", idle, StringComparison.Ordinal);

            foreach (var tenant in new[] { "default", "acme", "globex" })
            {
                var batch = ExporterTestSupport.Batch(OtlpSignal.Traces, SpansPerBatch) with { Tenant = tenant };
                Assert.True((await store.ExportAsync(batch, CancellationToken.None)).Accepted);
            }

            // Upstream is down: three tenants' feeds each hold one frame.
            long size = forwarder.QueueBacklogBytes;
            Assert.True(size > 0);
            string metrics = new CollectorMetrics([], exporters, TimeProvider.System).Render();
            Assert.Contains($"otelcol_exporter_queue_size{{exporter=\"otlp\"}} {size}\n", metrics, StringComparison.Ordinal);
            Assert.Contains($"otelcol_exporter_queue_capacity{{exporter=\"otlp\"}} {3 * limit}\n", metrics, StringComparison.Ordinal);
            Assert.Contains($"otelcol_exporter_queue_capacity{{exporter=\"sealed_store\"}} {3 * limit}\n", metrics, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Only_a_forwarder_all_of_whose_pipelines_have_the_store_reads_its_wal()
    {
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        var (parsed, exporters) = Build(
            [("otlp/same", $"tls: {{ca_file: {_pki.CaPath}}}"), ("otlp/more", $"tls: {{ca_file: {_pki.CaPath}}}")],
            upstream,
            ("traces", "sealed_store, otlp/same, otlp/more"),
            ("logs", "otlp/more"));
        using var logs = new CapturingLoggerProvider();
        try
        {
            var attached = WalForwarding.Attach(parsed, exporters, logs.CreateLogger("TraceSeal.Collector"));
            Assert.Equal(["otlp/same"], attached);

            // Its queue is the store's WAL: capacity wal::max_backlog_bytes (default 1 GiB). The other one says why not.
            Assert.Equal(1L << 30, PipelineStats.QueueCapacity(exporters["otlp/same"]));
            var line = Assert.Single(logs.Messages);
            Assert.Equal(LogLevel.Information, line.Level);
            Assert.Equal(
                "exporter otlp/more: does not read the WAL of sealed_store and keeps acknowledging only after upstream accepted (no sending_queue): its pipelines [logs, traces] are not all among the store's [traces], so the WAL would miss the requests of those without the store; each request is then written twice",
                line.Text);
            Assert.Equal("sealed_store", ((OtlpForwardingExporter)exporters["otlp/same"]).ReadsWalOf);
            Assert.Null(((OtlpForwardingExporter)exporters["otlp/more"]).ReadsWalOf);
            if (((OtlpExporterSettings)parsed.Exporters["otlp/same"]).Queue.QueueKeyFile is null)
            {
                Assert.True(File.Exists(StoreDir + ".forward.key")); // no queue key configured: a key of its own next to the store
            }
        }
        finally
        {
            foreach (var exporter in exporters.Values)
            {
                await exporter.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_record_of_the_old_layout_names_no_forwarder_and_goes_to_every_forwarder_of_its_signal()
    {
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        var tls = ExporterTestSupport.MutualTls(_pki);
        string forwarderTls = $"tls: {{ca_file: {tls.CaFile}, cert_file: {tls.CertFile}, key_file: {tls.KeyFile}}}";
        var (parsed, exporters) = Build(
            [("otlp/traces", forwarderTls), ("otlp/metrics-a", forwarderTls)],
            upstream,
            ("traces", "sealed_store, otlp/traces"),
            ("logs", "sealed_store"),
            ("metrics/a", "sealed_store, otlp/metrics-a"),
            ("metrics/b", "sealed_store"));
        try
        {
            // Both attach: all of their pipelines have the store (metrics/b's records carry no forwarder of theirs).
            Assert.Equal(["otlp/metrics-a", "otlp/traces"], WalForwarding.Attach(parsed, exporters).Order(StringComparer.Ordinal));
            var store = (SealedStoreExporter)exporters["sealed_store"];
            var forwarder = (OtlpForwardingExporter)exporters["otlp/traces"];
            var metrics = (OtlpForwardingExporter)exporters["otlp/metrics-a"];
            await forwarder.StartAsync(CancellationToken.None);
            await metrics.StartAsync(CancellationToken.None);
            await store.StartAsync(CancellationToken.None);

            // Called without a route (WalForwarding.Route), the store writes version 1 records, as before records named
            // their forwarders (docs/format.md §14.12): each is for every forwarder of its signal, the rule under which
            // forwarders attached when such records were written. No forwarder takes another signal's.
            foreach (var (signal, items) in new (OtlpSignal, int)[] { (OtlpSignal.Logs, 2), (OtlpSignal.Traces, 3), (OtlpSignal.Metrics, 4), (OtlpSignal.Traces, 5), (OtlpSignal.Logs, 6) })
            {
                Assert.True((await store.ExportAsync(ExporterTestSupport.Batch(signal, items), CancellationToken.None)).Accepted);
            }

            await upstream.StartAsync();
            await Eventually.TrueAsync(() => forwarder.QueueBacklogBytes == 0 && metrics.QueueBacklogBytes == 0, "the forwarders to pass every frame", Deadline);
            Assert.Equal(8, upstream.Sink.Items(OtlpSignal.Traces));
            Assert.Equal(0, upstream.Sink.Items(OtlpSignal.Logs));
            Assert.Equal(4, upstream.Sink.Items(OtlpSignal.Metrics));
            Assert.Equal(8, PipelineStats.For(forwarder).Ok(OtlpSignal.Traces));
            Assert.Equal(4, PipelineStats.For(metrics).Ok(OtlpSignal.Metrics));
        }
        finally
        {
            foreach (var exporter in exporters.Values)
            {
                await exporter.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// A config with one mTLS receiver, the store (`sealed_store`), <paramref name="forwarders"/> (id, tls line) to
    /// <paramref name="upstream"/> and <paramref name="pipelines"/> (name, exporters; the signal is the name's type), and
    /// its exporters built as the host builds them.
    /// </summary>
    private (CollectorConfig Parsed, Dictionary<string, IExporter> Exporters) Build(
        (string Id, string Tls)[] forwarders, SwitchableUpstream upstream, params (string Name, string Exporters)[] pipelines)
    {
        var yaml = new System.Text.StringBuilder($$"""
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 127.0.0.1:0
                    tls: {cert_file: {{_pki.ServerCertPath}}, key_file: {{_pki.ServerKeyPath}}, client_ca_file: {{_pki.CaPath}}}
            exporters:
              sealed_store:
                directory: {{StoreDir}}
                recipients: [{{Path.Combine(_dir, "keys", "ops.recipient.pem")}}]

            """);
        foreach (var (id, tls) in forwarders)
        {
            yaml.Append($"  {id}:\n    endpoint: {upstream.Endpoint}\n    {tls}\n");
        }

        yaml.Append("service:\n  pipelines:\n");
        foreach (var (name, exporters) in pipelines)
        {
            yaml.Append($"    {name}:\n      receivers: [otlp]\n      exporters: [{exporters}]\n");
        }

        var parsed = CollectorConfigLoader.Parse(yaml.ToString(), Path.Combine(_dir, "collector.yaml"));
        return (parsed, parsed.Exporters.ToDictionary(e => e.Key, e => ComponentFactory.CreateExporter(e.Key, e.Value, parsed.SourcePath), StringComparer.Ordinal));
    }

    private SealedStoreExporterSettings StoreSettings(long backlog = 1L << 30) => new()
    {
        Name = "sealed_store",
        Directory = StoreDir,
        Recipients = [Path.Combine(_dir, "keys", "ops.recipient.pem")],
        Wal = new StoreWalSettings { MaxBacklogBytes = backlog },
        Block = new StoreBlockSettings { MaxAge = TimeSpan.FromHours(1) },
    };

    private string QueueDir(string name) => Path.Combine(_dir, "queue-" + name);

    /// <summary>A forwarder with a sealed sending queue configured: attached to the store, its queue must stay empty.</summary>
    private OtlpForwardingExporter Forwarder(SwitchableUpstream upstream, string name, int numConsumers = 10, TimeSpan? timeout = null)
    {
        OtlpExporterProtocol protocol = name.StartsWith("otlphttp", StringComparison.Ordinal) ? OtlpExporterProtocol.Http : OtlpExporterProtocol.Grpc;
        string safe = name.Replace('/', '-');
        var settings = QueueTestSupport.WithQueue(
            ExporterTestSupport.Settings(protocol, upstream.Endpoint, ExporterTestSupport.MutualTls(_pki)),
            QueueDir(safe),
            Path.Combine(_dir, safe + ".key"),
            name: name,
            numConsumers: numConsumers,
            timeout: timeout);
        return ExporterTestSupport.Create(settings);
    }

    /// <summary>Every hour bucket written so far has ended, whatever the time.</summary>
    private sealed class TwoHoursLater : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow().AddHours(2);
    }

    private string[] Blocks() => Directory.GetFiles(Path.Combine(StoreDir, "blocks"), "*.block", SearchOption.AllDirectories);

    /// <summary>One retention pass over the tenant with limits that keep nothing: max_bytes 1, and max_age 1 ns.</summary>
    private void SweepRetention() => Retention.Sweep(
        new StoreContext
        {
            Root = StoreDir,
            Settings = new SealedStoreExporterSettings
            {
                Name = "sealed_store",
                Directory = StoreDir,
                Recipients = [],
                Retention = new StoreRetentionSettings { MaxBytes = 1, MaxAge = TimeSpan.FromTicks(1) },
            },
            Recipients = [],
            Time = new TwoHoursLater(),
            Logger = NullLogger.Instance,
        },
        "default");

    private async Task<(SealedStoreExporter Store, OtlpForwardingExporter Forwarder)> StartAsync(
        SwitchableUpstream upstream, string name, long backlog = 1L << 30, ILogger? logger = null, SealedStoreExporterSettings? settings = null, OtlpForwardingExporter? forwarder = null)
    {
        forwarder ??= Forwarder(upstream, name);
        var store = SealedStoreExporter.Create("sealed_store", settings ?? StoreSettings(backlog), Path.Combine(_dir, "collector.yaml"), logger ?? NullLogger.Instance);
        store.AddConsumer(forwarder.ReadWal("sealed_store", StoreDir));
        await forwarder.StartAsync(CancellationToken.None);
        await store.StartAsync(CancellationToken.None);
        return (store, forwarder);
    }
}
