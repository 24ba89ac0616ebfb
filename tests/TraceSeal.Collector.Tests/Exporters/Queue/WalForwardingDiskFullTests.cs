using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage;
using TraceSeal.Collector.Storage.Wal;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Collector.Tests.Exporters.Queue;

/// <summary>
/// A full disk under a sealed store with an attached WAL forwarder (issue 10): the store's tmpfs is made full and freed
/// again while the forwarder sends, so its cursor writes and the key headers of new segments fail with ENOSPC too. A
/// request is acknowledged (and then reaches upstream, once) or refused retryably; once space returns, ingest and
/// forwarding resume and no key header, temp file or segment is left behind.
/// </summary>
public sealed class WalForwardingDiskFullTests : IDisposable
{
    private const int Episodes = 3;
    private const int SpansPerBatch = 200;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly ReceiverTestPki _pki = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-walfwd-full-").FullName;
    private Tmpfs? _tmpfs;

    public WalForwardingDiskFullTests()
    {
        KeyFiles.Init(Path.Combine(_dir, "keys"), "ops");
    }

    public void Dispose()
    {
        _tmpfs?.Dispose();
        _pki.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string StoreDir => Path.Combine(_dir, "data");

    [TmpfsFact]
    public async Task Disk_full_episodes_with_a_forwarder_attached_refuse_retryably_and_every_acknowledged_span_reaches_upstream_once()
    {
        _tmpfs = Tmpfs.Mount(StoreDir, 8 << 20);
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc); // down until the first episode's disk is full
        var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var forwarder = ExporterTestSupport.Create(
            QueueTestSupport.WithQueue(
                ExporterTestSupport.Settings(OtlpExporterProtocol.Grpc, upstream.Endpoint, ExporterTestSupport.MutualTls(_pki)),
                Path.Combine(_dir, "queue"),
                Path.Combine(_dir, "queue.key"),
                name: "otlp"),
            loggers);
        var store = SealedStoreExporter.Create(
            "sealed_store",
            new SealedStoreExporterSettings
            {
                Name = "sealed_store",
                Directory = StoreDir,
                Recipients = [Path.Combine(_dir, "keys", "ops.recipient.pem")],
                Wal = new StoreWalSettings { SegmentBytes = 256 * 1024 },
                Block = new StoreBlockSettings { MaxAge = TimeSpan.FromHours(1) },
            },
            Path.Combine(_dir, "collector.yaml"),
            NullLogger.Instance);
        store.AddConsumer(forwarder.ReadWal("sealed_store", StoreDir));
        await forwarder.StartAsync(CancellationToken.None);
        await store.StartAsync(CancellationToken.None);
        await using (store)
        {
            long acknowledged = 0;
            int refused = 0;
            for (int episode = 0; episode < Episodes; episode++)
            {
                acknowledged += await AcceptedAsync(store, 3);
                _tmpfs.Fill();

                // Full: requests until one is refused (a frame may still fit in a segment's last page), retryably.
                SinkResult result = default;
                for (int i = 0; i < 200 && (i == 0 || result.Accepted); i++)
                {
                    result = await store.ExportAsync(ExporterTestSupport.Batch(OtlpSignal.Traces, SpansPerBatch), CancellationToken.None);
                    acknowledged += result.Accepted ? 1 : 0;
                }

                Assert.False(result.Accepted, $"episode {episode}: 200 requests acknowledged on a full disk");
                Assert.True(result.Retryable, $"episode {episode}: refused for good: {result.Reason}");
                refused++;

                // The forwarder sends everything acknowledged so far while the disk is full (the first time, upstream
                // comes up only now): every cursor write fails, it goes on from its cursor in memory. Then space comes
                // back and ingest resumes.
                if (episode == 0)
                {
                    await upstream.StartAsync();
                }

                long forwarded = acknowledged * SpansPerBatch;
                await Eventually.TrueAsync(
                    () => forwarder.QueueBacklogBytes == 0 && upstream.Sink.Items(OtlpSignal.Traces) >= forwarded,
                    $"episode {episode}: every acknowledged span forwarded while the disk is full",
                    Deadline);
                _tmpfs.Free();
                acknowledged += await AcceptedAsync(store, 3);
                if (episode == 1)
                {
                    await store.CutBlocksAsync(); // a cut between episodes: blocks/ on the same disk
                }
            }

            await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) >= acknowledged * SpansPerBatch, "every acknowledged span upstream", Deadline);
            await Eventually.TrueAsync(() => forwarder.QueueBacklogBytes == 0, "the forwarder's backlog to drain", Deadline);
            await store.CutBlocksAsync();
            await Eventually.TrueAsync(() => Files(StoreFormat.KeyHeaderExtension).Length == 0, "every key header to go once passed and cut", Deadline);

            Assert.Equal(acknowledged * SpansPerBatch, upstream.Sink.Items(OtlpSignal.Traces)); // refused ones never, acknowledged ones once
            Assert.Equal(Episodes, refused);
            Assert.Equal(0, forwarder.Counters.LostSegments);
            Assert.Empty(Files(StoreFormat.TempExtension));
            Assert.Empty(Files(StoreFormat.WalExtension));
            // Every cursor write failed while full, but the warning is limited (one per 30 s per sender), not one per request.
            int warnings = logs.Messages.Count(m => m.Text.Contains("cannot write the queue cursor", StringComparison.Ordinal));
            Assert.InRange(warnings, 1, Episodes);
        }
    }

    /// <summary>Exports until <paramref name="count"/> requests are acknowledged (retrying refusals while the store heals); returns <paramref name="count"/>.</summary>
    private static async Task<long> AcceptedAsync(SealedStoreExporter store, int count)
    {
        int accepted = 0;
        var until = DateTime.UtcNow + Deadline;
        while (accepted < count)
        {
            var result = await store.ExportAsync(ExporterTestSupport.Batch(OtlpSignal.Traces, SpansPerBatch), CancellationToken.None);
            if (result.Accepted)
            {
                accepted++;
                continue;
            }

            Assert.True(result.Retryable, result.Reason);
            Assert.True(DateTime.UtcNow < until, $"ingest did not resume after space came back: {result.Reason}");
            await Task.Delay(50);
        }

        return accepted;
    }

    private string[] Files(string extension) => Directory.GetFiles(StoreDir, "*" + extension, SearchOption.AllDirectories);
}
