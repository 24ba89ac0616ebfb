using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Http;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Hosting;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Processors.Batch;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Collector.Tests.Exporters.Queue;

/// <summary>`batch` in TraceSeal: the sealed queue's sender merges consecutive queued records of one signal into one upstream request.</summary>
public sealed class BatchedQueueTests : IDisposable
{
    private const int SpansPerBatch = 3;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    /// <summary>A long timeout, so that on a slow machine gathering is bounded by size and readiness only.</summary>
    private static readonly TimeSpan GatherTimeout = TimeSpan.FromSeconds(30);

    private readonly ReceiverTestPki _pki = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-batchq-").FullName;

    public void Dispose()
    {
        _pki.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Records_queued_during_an_outage_reach_upstream_in_fewer_requests_of_at_most_send_batch_size_items(bool grpc)
    {
        const int batches = 50;
        const int sendBatchSize = 20; // 6 records of 3 spans
        await using var upstream = new SwitchableUpstream(_pki, grpc ? OtlpExporterProtocol.Grpc : OtlpExporterProtocol.Http);
        ConcurrentQueue<(OtlpSignal Signal, int Items)> requests = Record(upstream);
        await using var exporter = Create(upstream, new BatchSettings { Name = "batch", SendBatchSize = sendBatchSize, Timeout = GatherTimeout });
        await exporter.StartAsync(CancellationToken.None);

        for (int i = 0; i < batches; i++)
        {
            Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, SpansPerBatch)).Accepted);
        }

        await upstream.StartAsync();

        await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == batches * SpansPerBatch, "every queued span upstream", Deadline);
        await Eventually.TrueAsync(() => exporter.QueueBacklogBytes == 0 && QueueTestSupport.Segments(QueueDir()).Length == 0, "the queue to drain", Deadline);
        Assert.All(requests, r => Assert.InRange(r.Items, 1, sendBatchSize));
        Assert.True(requests.Count < batches, $"{requests.Count} requests for {batches} records");

        // The request in flight during the outage holds what was queued when it was cut; the rest merges 6 by 6.
        Assert.True(requests.Count <= 1 + ((batches - 1 + 5) / 6), $"{requests.Count} requests");
        Assert.Equal(batches * SpansPerBatch, exporter.Counters.Sent);
        Assert.Equal(0, exporter.Counters.Failed);
        Assert.Empty(QueueTestSupport.FilesWithPlaintext(QueueDir()));
    }

    [Fact]
    public async Task Send_batch_max_size_bounds_a_merged_request()
    {
        const int batches = 20;

        // The loader keeps send_batch_max_size >= send_batch_size; the sender applies both bounds regardless.
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        ConcurrentQueue<(OtlpSignal Signal, int Items)> requests = Record(upstream);
        await using var exporter = Create(upstream, new BatchSettings { Name = "batch", SendBatchSize = 1000, SendBatchMaxSize = 7, Timeout = GatherTimeout });
        await exporter.StartAsync(CancellationToken.None);

        for (int i = 0; i < batches; i++)
        {
            Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, SpansPerBatch)).Accepted);
        }

        await upstream.StartAsync();

        await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == batches * SpansPerBatch, "every queued span upstream", Deadline);
        Assert.All(requests, r => Assert.InRange(r.Items, 1, 7));
        Assert.Contains(requests, r => r.Items == 2 * SpansPerBatch);
        Assert.True(requests.Count < batches, $"{requests.Count} requests for {batches} records");
    }

    [Fact]
    public async Task Records_of_different_signals_are_never_merged()
    {
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Http);
        ConcurrentQueue<(OtlpSignal Signal, int Items)> requests = Record(upstream);

        // One request in flight: the order at the sink is the queue's (with several, upstream may see them reordered).
        await using var exporter = Create(upstream, new BatchSettings { Name = "batch", Timeout = GatherTimeout }, numConsumers: 1);
        await exporter.StartAsync(CancellationToken.None);

        // Runs of one signal: traces, logs, metrics, traces again (4 records each).
        OtlpSignal[] runs = [OtlpSignal.Traces, OtlpSignal.Logs, OtlpSignal.Metrics, OtlpSignal.Traces];
        foreach (OtlpSignal signal in runs)
        {
            for (int i = 0; i < 4; i++)
            {
                Assert.True((await ExporterTestSupport.ExportAsync(exporter, signal, 2)).Accepted);
            }
        }

        await upstream.StartAsync();

        await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == 16, "every span upstream", Deadline);
        await Eventually.TrueAsync(() => exporter.QueueBacklogBytes == 0, "the queue to drain", Deadline);
        Assert.Equal(8, upstream.Sink.Items(OtlpSignal.Logs));
        Assert.Equal(8, upstream.Sink.Items(OtlpSignal.Metrics));
        Assert.Equal(0, exporter.Counters.Failed);

        // Each run of logs and metrics is one request; the two trace runs are never joined across them.
        Assert.Equal(1, upstream.Sink.Requests(OtlpSignal.Logs));
        Assert.Equal(1, upstream.Sink.Requests(OtlpSignal.Metrics));
        Assert.InRange(upstream.Sink.Requests(OtlpSignal.Traces), 2, 3);
        Assert.Equal([OtlpSignal.Logs, OtlpSignal.Metrics, OtlpSignal.Traces], requests.Select(r => r.Signal).SkipWhile(s => s == OtlpSignal.Traces).Distinct());
    }

    [Fact]
    public async Task A_merged_request_refused_with_400_is_resent_record_by_record_and_only_the_bad_record_is_dropped()
    {
        byte[] bad = Encoding.UTF8.GetBytes("BAD /checkout"); // same length as the span name it replaces: still valid OTLP
        var accepted = new ConcurrentQueue<int>();
        int refusedWithMarker = 0;
        var firstAnswer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using ScriptedUpstream upstream = await ScriptedUpstream.StartAsync(_pki);

        // The first request waits until everything is queued, so that what follows it is sent merged.
        upstream.Enqueue(async context =>
        {
            await firstAnswer.Task;
            await Answer(context);
        });
        upstream.Default = Answer;

        OtlpExporterSettings plain = ExporterTestSupport.Settings(OtlpExporterProtocol.Http, $"https://127.0.0.1:{upstream.Port}", ExporterTestSupport.MutualTls(_pki), compression: "none");
        await using var exporter = ExporterTestSupport.Create(
            QueueTestSupport.WithQueue(plain, QueueDir(), KeyFile()),
            batch: new BatchSettings { Name = "batch", Timeout = GatherTimeout });
        await exporter.StartAsync(CancellationToken.None);

        for (int i = 0; i < 6; i++)
        {
            ReceivedBatch batch = ExporterTestSupport.Batch(OtlpSignal.Traces, SpansPerBatch);
            if (i == 3)
            {
                Replace(batch.Payload, QueueTestSupport.Marker, bad);
            }

            Assert.True((await exporter.ExportAsync(batch, CancellationToken.None)).Accepted);
        }

        firstAnswer.SetResult();

        await Eventually.TrueAsync(() => exporter.Counters.Sent + exporter.Counters.Failed == 6 * SpansPerBatch, "every record sent or dropped", Deadline);
        await Eventually.TrueAsync(() => exporter.QueueBacklogBytes == 0, "the queue to drain", Deadline);
        Assert.Equal(SpansPerBatch, exporter.Counters.Failed);
        Assert.Equal(5 * SpansPerBatch, exporter.Counters.Sent);
        Assert.Equal(5 * SpansPerBatch, accepted.Sum());
        Assert.Equal(2, Volatile.Read(ref refusedWithMarker)); // once merged, once alone

        async Task Answer(HttpContext context)
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            if (body.ToArray().AsSpan().IndexOf(bad) >= 0)
            {
                Interlocked.Increment(ref refusedWithMarker);
                context.Response.StatusCode = 400;
                return;
            }

            Assert.True(OtlpValidator.TryValidate(body.ToArray(), OtlpSignal.Traces, out OtlpSummary summary, out _));
            accepted.Enqueue(summary.ItemCount);
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-protobuf";
        }
    }

    [Fact]
    public async Task Without_a_batch_processor_every_record_is_its_own_request()
    {
        const int batches = 10;
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        await using var exporter = Create(upstream, batch: null);
        await exporter.StartAsync(CancellationToken.None);

        for (int i = 0; i < batches; i++)
        {
            Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, SpansPerBatch)).Accepted);
        }

        await upstream.StartAsync();

        await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == batches * SpansPerBatch, "every queued span upstream", Deadline);
        Assert.Equal(batches, upstream.Sink.Requests(OtlpSignal.Traces));
    }

    [Fact]
    public void The_exporter_merges_by_the_smallest_batch_settings_of_its_pipelines_and_not_at_all_when_one_has_no_batch()
    {
        var processors = new Dictionary<string, ProcessorSettings>
        {
            ["batch"] = new BatchSettings { Name = "batch", SendBatchSize = 500, Timeout = TimeSpan.FromSeconds(1) },
            ["batch/small"] = new BatchSettings { Name = "batch/small", SendBatchSize = 100, SendBatchMaxSize = 300, Timeout = TimeSpan.FromSeconds(2) },
        };
        static PipelineSettings Pipeline(string name, OtlpSignal signal, params string[] processors) =>
            new() { Name = name, Signal = signal, Receivers = ["otlp"], Processors = processors, Exporters = ["otlp/up"] };
        CollectorConfig Config(params PipelineSettings[] pipelines) => new()
        {
            SourcePath = "test.yaml",
            Receivers = [],
            Processors = processors,
            Exporters = new Dictionary<string, ExporterSettings>(),
            Pipelines = pipelines,
            Warnings = [],
        };

        BatchSettings? combined = ComponentFactory.BatchFor(
            Config(Pipeline("traces", OtlpSignal.Traces, "batch"), Pipeline("logs", OtlpSignal.Logs, "batch/small")), "otlp/up");
        Assert.NotNull(combined);
        Assert.Equal(100, combined.SendBatchSize);
        Assert.Equal(300, combined.SendBatchMaxSize);
        Assert.Equal(TimeSpan.FromSeconds(1), combined.Timeout);

        Assert.Null(ComponentFactory.BatchFor(Config(Pipeline("traces", OtlpSignal.Traces, "batch"), Pipeline("logs", OtlpSignal.Logs)), "otlp/up"));
        Assert.Null(ComponentFactory.BatchFor(Config(Pipeline("traces", OtlpSignal.Traces)), "otlp/up"));
    }

    /// <summary>Every request the upstream accepts, in arrival order (one request is in flight at a time).</summary>
    private static ConcurrentQueue<(OtlpSignal Signal, int Items)> Record(SwitchableUpstream upstream)
    {
        var requests = new ConcurrentQueue<(OtlpSignal Signal, int Items)>();
        upstream.Sink.Behavior = (batch, _) =>
        {
            requests.Enqueue((batch.Signal, batch.ItemCount));
            return ValueTask.FromResult(SinkResult.Ok);
        };
        return requests;
    }

    private static void Replace(ReadOnlyMemory<byte> payload, byte[] what, byte[] with)
    {
        Span<byte> span = System.Runtime.InteropServices.MemoryMarshal.AsMemory(payload).Span;
        int at;
        while ((at = span.IndexOf(what)) >= 0)
        {
            with.CopyTo(span[at..]);
        }
    }

    private OtlpForwardingExporter Create(SwitchableUpstream upstream, BatchSettings? batch, int numConsumers = 10)
    {
        OtlpExporterSettings plain = ExporterTestSupport.Settings(
            upstream.Endpoint.StartsWith("https://", StringComparison.Ordinal) ? OtlpExporterProtocol.Http : OtlpExporterProtocol.Grpc,
            upstream.Endpoint,
            ExporterTestSupport.MutualTls(_pki));
        return ExporterTestSupport.Create(QueueTestSupport.WithQueue(plain, QueueDir(), KeyFile(), numConsumers: numConsumers), batch: batch);
    }

    private string QueueDir() => Path.Combine(_dir, "queue");

    private string KeyFile()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "keys"));
        return Path.Combine(_dir, "keys", "queue-key.pem");
    }
}
