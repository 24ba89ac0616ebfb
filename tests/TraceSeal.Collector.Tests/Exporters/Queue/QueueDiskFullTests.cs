using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using TraceSeal.Storage.Log;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Collector.Tests.Exporters.Queue;

/// <summary>
/// The sending queue on a small tmpfs made full and freed again: a failed write is refused retryably, the broken
/// segment gets its end frame once space returns, and everything acknowledged is forwarded. Mounting needs root
/// (CI runs the tests as root, as for the store's DiskFullTests; tests/Shared/Tmpfs.cs); skipped otherwise.
/// </summary>
public sealed class QueueDiskFullTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly ReceiverTestPki _pki = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-queuefull-").FullName;
    private Tmpfs? _tmpfs;

    private string QueueDir => Path.Combine(_dir, "queue");

    public void Dispose()
    {
        _tmpfs?.Dispose();
        _pki.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [TmpfsFact]
    public async Task A_full_disk_refuses_retryably_then_heals_and_every_acknowledged_record_is_forwarded()
    {
        var tmpfs = _tmpfs = Tmpfs.Mount(QueueDir, 4 << 20);
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        Directory.CreateDirectory(Path.Combine(_dir, "keys"));
        var settings = QueueTestSupport.WithQueue(
            ExporterTestSupport.Settings(OtlpExporterProtocol.Grpc, upstream.Endpoint, ExporterTestSupport.MutualTls(_pki)),
            QueueDir,
            Path.Combine(_dir, "keys", "q.pem"));
        await using var exporter = ExporterTestSupport.Create(settings);
        await exporter.StartAsync(CancellationToken.None);

        int acknowledged = 0;
        for (int episode = 0; episode < 3; episode++)
        {
            for (int i = 0; i < 3; i++)
            {
                Assert.True((await ExportAsync(exporter)).Accepted);
                acknowledged++;
            }

            tmpfs.Fill();
            int refused = 0;
            for (int i = 0; i < 4; i++)
            {
                SinkResult result = await ExportAsync(exporter);
                if (result.Accepted)
                {
                    acknowledged++;
                    continue;
                }

                Assert.True(result.Retryable);
                Assert.Equal("sending queue write failed", result.Reason);
                refused++;
            }

            Assert.True(refused > 0, $"episode {episode}: the full disk refused nothing");
            tmpfs.Free();

            // Space is back: the broken segment gets its end frame over its torn tail (retried every second), and
            // the next request starts a new segment.
            Assert.True((await ExportAsync(exporter)).Accepted);
            acknowledged++;
            await Eventually.TrueAsync(
                () => QueueTestSupport.Segments(QueueDir).Count(s => LogScan.Scan(File.ReadAllBytes(s)).Tail == LogTail.Complete) == episode + 1,
                "the broken segment completed with its end frame",
                Deadline);
        }

        await upstream.StartAsync();
        await Eventually.TrueAsync(() => upstream.Sink.Requests(OtlpSignal.Traces) == acknowledged, "every acknowledged record upstream", Deadline);
        await Eventually.TrueAsync(() => exporter.QueueBacklogBytes == 0 && QueueTestSupport.Segments(QueueDir).Length == 0, "the queue to drain", Deadline);
        Assert.Equal(0, exporter.Counters.UnreadableFrames);
    }

    private static async Task<SinkResult> ExportAsync(OtlpForwardingExporter exporter)
    {
        byte[] payload = OtlpTestData.TracesOfSize(3 * Environment.SystemPageSize);
        var batch = new ReceivedBatch { Signal = OtlpSignal.Traces, Payload = payload, ItemCount = 20, Tenant = "default", Identity = "test", Receiver = "otlp" };
        return await exporter.ExportAsync(batch, CancellationToken.None);
    }
}
