using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Exporters.Otlp.Queue;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Collector.Tests.Exporters.Queue;

/// <summary>
/// `sending_queue::num_consumers` for the sealed queue's sender: up to that many requests in flight against a real
/// TraceSeal receiver over mutual TLS, with the cursor moving only over the completed prefix. Every record of a test
/// has a different span count, so the upstream sink tells them apart.
/// </summary>
public sealed class SenderWindowTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly ReceiverTestPki _pki = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-window-").FullName;

    public void Dispose()
    {
        _pki.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string QueueDir => Path.Combine(_dir, "queue");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task With_num_consumers_4_four_requests_are_in_flight_at_once_and_each_record_arrives_once(bool grpc)
    {
        const int consumers = 4;
        const int records = 10;
        await using var upstream = new SwitchableUpstream(_pki, grpc ? OtlpExporterProtocol.Grpc : OtlpExporterProtocol.Http);
        var held = new HeldRequests(upstream.Sink) { ReleaseAt = consumers };
        await upstream.StartAsync();
        await using var exporter = Create(upstream, consumers);
        await exporter.StartAsync(CancellationToken.None);

        for (int i = 1; i <= records; i++)
        {
            Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, i)).Accepted);
        }

        // The sink answers nobody until 4 requests are held there at once: a sender with one in flight never gets there.
        await held.WaitReleasedAsync(Deadline);
        Assert.Equal(consumers, held.MaxHeld);

        await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == records * (records + 1) / 2, "every queued span upstream", Deadline);
        await Eventually.TrueAsync(() => exporter.QueueBacklogBytes == 0 && QueueTestSupport.Segments(QueueDir).Length == 0, "the queue to drain and its segments to be deleted", Deadline);
        Assert.Equal(records, upstream.Sink.Requests(OtlpSignal.Traces));
        Assert.Equal(Enumerable.Range(1, records), held.Arrivals.Order());
        Assert.InRange(held.MaxHeld, 2, consumers); // never more than the window
        Assert.Equal(0, exporter.Counters.Failed);
    }

    [Fact]
    public async Task A_request_that_keeps_failing_while_later_ones_succeed_holds_the_cursor_and_is_sent_after_a_restart()
    {
        const int consumers = 3;
        const int records = 5; // 1..5 spans; the 1-span record is refused (retryable) for the whole first run
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        int refusals = 0;
        bool refuseFirst = true;
        var arrivals = new System.Collections.Concurrent.ConcurrentQueue<int>();
        upstream.Sink.Behavior = (batch, _) =>
        {
            if (batch.ItemCount == 1 && Volatile.Read(ref refuseFirst))
            {
                Interlocked.Increment(ref refusals);
                return ValueTask.FromResult(SinkResult.Refuse(TimeSpan.FromMilliseconds(50), "not yet"));
            }

            arrivals.Enqueue(batch.ItemCount);
            return ValueTask.FromResult(SinkResult.Ok);
        };

        await using (var first = Create(upstream, consumers))
        {
            await first.StartAsync(CancellationToken.None);
            for (int i = 1; i <= records; i++)
            {
                Assert.True((await ExporterTestSupport.ExportAsync(first, OtlpSignal.Traces, i)).Accepted);
            }

            // Queued while upstream was down: the window (3 requests: 1, 2 and 3 spans) retries; then upstream returns.
            await upstream.StartAsync();
            await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == 2 + 3, "the two later requests of the window accepted", Deadline);
            await Eventually.TrueAsync(() => Volatile.Read(ref refusals) >= 2, "the first request refused again and again", Deadline);

            // Completed requests behind a failing one wait in the window: the cursor has not moved, nothing beyond the window was sent.
            Assert.Equal(default, QueueCursor.Read(QueueDir));
            Assert.Equal(5, upstream.Sink.Items(OtlpSignal.Traces));
            await first.StopAsync(CancellationToken.None);
            Assert.Equal(default, QueueCursor.Read(QueueDir));
            Assert.Equal(0, first.Counters.Failed);
        }

        Volatile.Write(ref refuseFirst, false);
        await using var second = Create(upstream, consumers);
        await second.StartAsync(CancellationToken.None);

        // Resent from the cursor: the refused record, the two accepted behind it (duplicates, at-least-once), the rest.
        await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == 5 + 15, "every record of the first run sent again", Deadline);
        await Eventually.TrueAsync(() => second.QueueBacklogBytes == 0 && QueueTestSupport.Segments(QueueDir).Length == 0, "the queue to drain", Deadline);
        Assert.Equal([1, 2, 2, 3, 3, 4, 5], arrivals.Order());
        Assert.Equal(15, second.Counters.Replayed);
        Assert.Equal(15, second.Counters.Sent);
        Assert.Equal(0, second.Counters.Failed);
    }

    [Fact]
    public async Task With_num_consumers_1_requests_go_one_at_a_time_in_queue_order()
    {
        const int records = 6;
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Http);
        var held = new HeldRequests(upstream.Sink) { ReleaseAt = int.MaxValue };
        await using var exporter = Create(upstream, consumers: 1);
        await exporter.StartAsync(CancellationToken.None);
        for (int i = 1; i <= records; i++)
        {
            Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, i)).Accepted);
        }

        await upstream.StartAsync();

        // Each request is held until the test lets it go: the next one arrives only after, and alone.
        for (int k = 1; k <= records; k++)
        {
            await Eventually.TrueAsync(() => held.Arrivals.Count == k, $"request {k} at the sink", Deadline);
            Assert.Equal(1, held.Held);
            held.ReleaseOne();
        }

        await Eventually.TrueAsync(() => exporter.QueueBacklogBytes == 0 && QueueTestSupport.Segments(QueueDir).Length == 0, "the queue to drain", Deadline);
        Assert.Equal(Enumerable.Range(1, records), held.Arrivals);
        Assert.Equal(1, held.MaxHeld);
        Assert.Equal(records, upstream.Sink.Requests(OtlpSignal.Traces));
    }

    /// <summary>A 30 s per-attempt timeout: a request held at the sink is not abandoned and retried while the test waits.</summary>
    private OtlpForwardingExporter Create(SwitchableUpstream upstream, int consumers)
    {
        Directory.CreateDirectory(Path.Combine(_dir, "keys"));
        OtlpExporterSettings plain = ExporterTestSupport.Settings(
            upstream.Endpoint.StartsWith("https://", StringComparison.Ordinal) ? OtlpExporterProtocol.Http : OtlpExporterProtocol.Grpc,
            upstream.Endpoint,
            ExporterTestSupport.MutualTls(_pki));
        return ExporterTestSupport.Create(QueueTestSupport.WithQueue(plain, QueueDir, Path.Combine(_dir, "keys", "queue-key.pem"), numConsumers: consumers, timeout: TimeSpan.FromSeconds(30)));
    }
}
