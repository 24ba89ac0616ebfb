using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Hosting;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage;
using TraceSeal.Collector.Storage.Wal;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using TraceSeal.Sealing;

namespace TraceSeal.Collector.Tests.Exporters.Queue;

/// <summary>
/// The WAL as the one acknowledgement point: a pipeline with `sealed_store` and an `otlp` / `otlphttp` exporter seals and
/// fsyncs each request once, in the store's WAL, and the forwarder reads that log with a cursor of its own.
/// </summary>
public sealed class WalForwardingTests : IDisposable
{
    private const int SpansPerBatch = 3;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly ReceiverTestPki _pki = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-walfwd-").FullName;

    public WalForwardingTests() => KeyFiles.Init(Path.Combine(_dir, "keys"), "ops");

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
    public async Task Only_a_forwarder_with_exactly_the_stores_pipelines_reads_its_wal()
    {
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        string recipient = Path.Combine(_dir, "keys", "ops.recipient.pem");
        string config = $"""
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 127.0.0.1:0
                    tls: {'{'}cert_file: {_pki.ServerCertPath}, key_file: {_pki.ServerKeyPath}, client_ca_file: {_pki.CaPath}{'}'}
            exporters:
              sealed_store:
                directory: {StoreDir}
                recipients: [{recipient}]
              otlp/same:
                endpoint: {upstream.Endpoint}
                tls: {'{'}ca_file: {_pki.CaPath}{'}'}
              otlp/more:
                endpoint: {upstream.Endpoint}
                tls: {'{'}ca_file: {_pki.CaPath}{'}'}
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [sealed_store, otlp/same, otlp/more]
                logs:
                  receivers: [otlp]
                  exporters: [otlp/more]
            """;
        var parsed = CollectorConfigLoader.Parse(config, Path.Combine(_dir, "collector.yaml"));
        var exporters = parsed.Exporters.ToDictionary(e => e.Key, e => ComponentFactory.CreateExporter(e.Key, e.Value, parsed.SourcePath), StringComparer.Ordinal);
        try
        {
            var attached = WalForwarding.Attach(parsed, exporters);
            Assert.Equal(["otlp/same"], attached);
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
    private OtlpForwardingExporter Forwarder(SwitchableUpstream upstream, string name)
    {
        OtlpExporterProtocol protocol = name.StartsWith("otlphttp", StringComparison.Ordinal) ? OtlpExporterProtocol.Http : OtlpExporterProtocol.Grpc;
        string safe = name.Replace('/', '-');
        var settings = QueueTestSupport.WithQueue(
            ExporterTestSupport.Settings(protocol, upstream.Endpoint, ExporterTestSupport.MutualTls(_pki)),
            QueueDir(safe),
            Path.Combine(_dir, safe + ".key"),
            name: name);
        return ExporterTestSupport.Create(settings);
    }

    private async Task<(SealedStoreExporter Store, OtlpForwardingExporter Forwarder)> StartAsync(SwitchableUpstream upstream, string name, long backlog = 1L << 30)
    {
        var forwarder = Forwarder(upstream, name);
        var store = SealedStoreExporter.Create("sealed_store", StoreSettings(backlog), Path.Combine(_dir, "collector.yaml"), NullLogger.Instance);
        store.AddConsumer(forwarder.ReadWal("sealed_store", StoreDir));
        await forwarder.StartAsync(CancellationToken.None);
        await store.StartAsync(CancellationToken.None);
        return (store, forwarder);
    }
}
