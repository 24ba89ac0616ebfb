using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Processors;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Collector.Tests.Exporters.Queue;

/// <summary>The sealed sending queue against a real TraceSeal receiver over mutual TLS that is down, then up.</summary>
public sealed class SealedQueueTests : IDisposable
{
    private const int SpansPerBatch = 3;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly ReceiverTestPki _pki = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-queue-").FullName;

    public void Dispose()
    {
        _pki.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task While_upstream_is_down_batches_are_acknowledged_sealed_and_delivered_exactly_once_when_it_returns(bool grpc)
    {
        OtlpExporterProtocol protocol = grpc ? OtlpExporterProtocol.Grpc : OtlpExporterProtocol.Http;
        const int batches = 20;
        await using var upstream = new SwitchableUpstream(_pki, protocol);
        await using var exporter = Create(upstream, "q");
        await exporter.StartAsync(CancellationToken.None);

        for (int i = 0; i < batches; i++)
        {
            SinkResult result = await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, SpansPerBatch);
            Assert.True(result.Accepted, result.Reason);
        }

        Assert.Equal(batches * SpansPerBatch, exporter.Counters.Queued);
        Assert.True(exporter.QueueBacklogBytes > 0);
        Assert.False(exporter.IsFailing); // an outage the queue absorbs is not a readiness failure
        await Eventually.TrueAsync(() => exporter.Counters.Retried > 0, "the sender to retry against the closed port", Deadline);
        Assert.Empty(QueueTestSupport.FilesWithPlaintext(QueueDir("q")));
        Assert.NotEmpty(QueueTestSupport.Segments(QueueDir("q")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyFile("q")));
        }

        await upstream.StartAsync();

        await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == batches * SpansPerBatch, "every queued span upstream", Deadline);
        await Eventually.TrueAsync(() => exporter.QueueBacklogBytes == 0 && QueueTestSupport.Segments(QueueDir("q")).Length == 0, "the queue to drain and its segments to be deleted", Deadline);
        Assert.Equal(batches, upstream.Sink.Requests(OtlpSignal.Traces));
        Assert.Equal(batches * SpansPerBatch, exporter.Counters.Sent);
        Assert.Equal(0, exporter.Counters.Replayed);
        Assert.Equal(0, exporter.Counters.Failed);

        // Still queued (not pass-through) with upstream up: acknowledged, then forwarded.
        Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Logs, 4)).Accepted);
        await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Logs) == 4, "the log records upstream", Deadline);
    }

    [Fact]
    public async Task A_full_backlog_refuses_clients_retryably_until_the_queue_drains()
    {
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        await using var exporter = Create(upstream, "q", maxBacklogBytes: 4096);
        await exporter.StartAsync(CancellationToken.None);

        int accepted = 0;
        SinkResult refused = default;
        for (int i = 0; i < 100 && refused == default; i++)
        {
            SinkResult result = await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, SpansPerBatch);
            if (result.Accepted)
            {
                accepted++;
            }
            else
            {
                refused = result;
            }
        }

        Assert.True(accepted > 0);
        Assert.False(refused.Accepted);
        Assert.True(refused.Retryable);
        Assert.Equal("sending queue full", refused.Reason);
        Assert.Equal(OtlpForwardingExporter.ClientRetryAfter, refused.RetryAfter);
        Assert.True(exporter.IsFailing);
        Assert.True(exporter.QueueBacklogBytes <= 4096);

        await upstream.StartAsync();
        await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == accepted * SpansPerBatch, "every accepted span upstream", Deadline);
        await Eventually.TrueAsync(() => exporter.QueueBacklogBytes == 0, "the backlog to drain", Deadline);
        Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, SpansPerBatch)).Accepted);
        Assert.False(exporter.IsFailing);
        await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == (accepted + 1) * SpansPerBatch, "the next batch upstream", Deadline);
    }

    [Fact]
    public async Task Unsent_frames_are_delivered_after_a_restart_and_a_torn_tail_is_cut()
    {
        const int batches = 12;
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Http);
        await using (var first = Create(upstream, "q"))
        {
            await first.StartAsync(CancellationToken.None);
            for (int i = 0; i < batches; i++)
            {
                Assert.True((await ExporterTestSupport.ExportAsync(first, OtlpSignal.Traces, SpansPerBatch)).Accepted);
            }

            await first.StopAsync(CancellationToken.None);
        }

        // A crash in the middle of the next write: a length prefix promising more than was written.
        string segment = QueueTestSupport.Segments(QueueDir("q")).Order(StringComparer.Ordinal).Last();
        long intact = new FileInfo(segment).Length;
        await using (var stream = new FileStream(segment, FileMode.Append, FileAccess.Write))
        {
            stream.Write([0x00, 0x00, 0x10, 0x00, 0x01, 0x02, 0x03]);
        }

        await upstream.StartAsync();
        await using var second = Create(upstream, "q");
        await second.StartAsync(CancellationToken.None);

        await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == batches * SpansPerBatch, "the spans of the first run upstream", Deadline);
        await Eventually.TrueAsync(() => second.QueueBacklogBytes == 0, "the queue to drain", Deadline);
        Assert.Equal(batches, upstream.Sink.Requests(OtlpSignal.Traces));
        Assert.Equal(batches * SpansPerBatch, second.Counters.Replayed); // resent from an earlier run: possible duplicates, counted
        Assert.Equal(0, second.Counters.UnreadableFrames);
        Assert.True(intact > 0);
    }

    [Fact]
    public async Task A_slow_exporter_queues_while_a_healthy_one_in_the_same_pipeline_receives_everything()
    {
        const int batches = 10;
        await using var down = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        await using var healthy = new SwitchableUpstream(_pki, OtlpExporterProtocol.Http);
        await healthy.StartAsync();
        await using var slowExporter = Create(down, "slow", name: "otlp/slow");
        await using var healthyExporter = Create(healthy, "healthy", name: "otlphttp/healthy");
        await slowExporter.StartAsync(CancellationToken.None);
        await healthyExporter.StartAsync(CancellationToken.None);
        var pipeline = new TelemetryPipeline("traces", OtlpSignal.Traces, Array.Empty<IProcessor>(), new IExporter[] { slowExporter, healthyExporter });

        for (int i = 0; i < batches; i++)
        {
            Assert.True((await pipeline.ProcessAsync(ExporterTestSupport.Batch(OtlpSignal.Traces, SpansPerBatch), CancellationToken.None)).Accepted);
        }

        await Eventually.TrueAsync(() => healthy.Sink.Items(OtlpSignal.Traces) == batches * SpansPerBatch, "every span at the healthy upstream", Deadline);
        Assert.Equal(0, slowExporter.Counters.Sent);
        Assert.True(slowExporter.QueueBacklogBytes > 0);
        Assert.NotEmpty(QueueTestSupport.Segments(QueueDir("slow")));

        await down.StartAsync();
        await Eventually.TrueAsync(() => down.Sink.Items(OtlpSignal.Traces) == batches * SpansPerBatch, "every span at the recovered upstream", Deadline);
        Assert.Equal(batches * SpansPerBatch, healthy.Sink.Items(OtlpSignal.Traces));
    }

    [Fact]
    public async Task A_record_upstream_refuses_permanently_is_dropped_and_counted_and_the_rest_flows()
    {
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Http);
        // Metrics have no pipeline upstream: 404, permanent. Retrying cannot help and must not block the queue.
        upstream.Sink.Behavior = (batch, _) => ValueTask.FromResult(batch.Signal == OtlpSignal.Metrics ? SinkResult.Unsupported("no metrics pipeline") : SinkResult.Ok);
        await upstream.StartAsync();
        await using var exporter = Create(upstream, "q");
        await exporter.StartAsync(CancellationToken.None);

        Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Metrics, 5)).Accepted);
        Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, 2)).Accepted);

        await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == 2, "the spans after the refused record", Deadline);
        await Eventually.TrueAsync(() => exporter.Counters.Failed == 5, "the dropped data points counted", Deadline);
        Assert.Equal(0, upstream.Sink.Items(OtlpSignal.Metrics));
    }

    [Fact]
    public async Task A_second_exporter_on_the_same_directory_is_refused()
    {
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        await using var first = Create(upstream, "q");
        await first.StartAsync(CancellationToken.None);
        await using var second = Create(upstream, "q");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => second.StartAsync(CancellationToken.None));
        Assert.Contains("another exporter is using this sending queue directory", error.Message, StringComparison.Ordinal);
    }

    private OtlpForwardingExporter Create(SwitchableUpstream upstream, string queue, long maxBacklogBytes = 64L * 1024 * 1024, string? name = null)
    {
        Directory.CreateDirectory(Path.Combine(_dir, "keys"));
        OtlpExporterSettings plain = ExporterTestSupport.Settings(
            upstream.Endpoint.StartsWith("https://", StringComparison.Ordinal) ? OtlpExporterProtocol.Http : OtlpExporterProtocol.Grpc,
            upstream.Endpoint,
            ExporterTestSupport.MutualTls(_pki));
        return ExporterTestSupport.Create(QueueTestSupport.WithQueue(plain, QueueDir(queue), KeyFile(queue), maxBacklogBytes, name));
    }

    private string QueueDir(string queue) => Path.Combine(_dir, "queue-" + queue);

    private string KeyFile(string queue) => Path.Combine(_dir, "keys", queue + ".queue-key.pem");
}
