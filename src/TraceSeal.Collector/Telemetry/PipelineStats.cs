using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Telemetry;

/// <summary>
/// Items by signal and outcome for one receiver or exporter: what upstream's receiverhelper / exporterhelper count
/// (otelcol_receiver_accepted_spans, otelcol_exporter_sent_spans, ...). Lock-free; read by /metrics.
/// </summary>
internal sealed class SignalCounts
{
    private readonly long[] _ok = new long[3];
    private readonly long[] _failed = new long[3];

    /// <summary>Receivers: accepted by the pipeline. Exporters: taken by the exporter.</summary>
    public long Ok(OtlpSignal signal) => Interlocked.Read(ref _ok[(int)signal]);

    /// <summary>Receivers: refused by the pipeline. Exporters: refused or failed.</summary>
    public long Failed(OtlpSignal signal) => Interlocked.Read(ref _failed[(int)signal]);

    internal void Add(OtlpSignal signal, int items, bool ok) => Interlocked.Add(ref (ok ? _ok : _failed)[(int)signal], items);
}

/// <summary>
/// Where the counts of a receiver or exporter live: keyed by the component's own object (a receiver's settings, an
/// exporter instance), so several collectors in one process (tests) never share counts, and the wrappers below
/// need no registry passed around.
/// </summary>
internal static class PipelineStats
{
    private static readonly ConditionalWeakTable<object, SignalCounts> Counts = new();
    private static readonly ConditionalWeakTable<object, LatencyHistogram> Latencies = new();

    private static readonly ConditionalWeakTable<IExporter, StrongBox<long>> QueueCapacities = new();

    public static SignalCounts For(object component) => Counts.GetValue(component, static _ => new SignalCounts());

    /// <summary>The byte capacity of an exporter's sealed queue or WAL backlog (otelcol_exporter_queue_capacity); set by the component factory.</summary>
    public static void SetQueueCapacity(IExporter exporter, long bytes) => QueueCapacities.AddOrUpdate(exporter, new StrongBox<long>(bytes));

    public static long? QueueCapacity(IExporter exporter) => QueueCapacities.TryGetValue(exporter, out var box) ? box.Value : null;

    /// <summary>How long the exporter took to take a batch (for sealed_store: sealed, written and fsync'd).</summary>
    public static LatencyHistogram LatencyOf(IExporter exporter) => Latencies.GetValue(exporter, static _ => new LatencyHistogram());

    /// <summary>Counts what the pipelines accept from (or refuse to) a receiver's protocol, keyed by <paramref name="receiverKey"/> (its protocol settings).</summary>
    public static ITelemetrySink Count(ITelemetrySink sink, object receiverKey) => new CountingSink(sink, For(receiverKey));

    /// <summary>Counts and times what one exporter takes; the pipelines call this instead of the exporter itself.</summary>
    public static IExporter Count(IExporter exporter) => new CountingExporter(exporter, For(exporter), LatencyOf(exporter));

    /// <summary>Awaits one delivery and counts its items as taken or not; times it when <paramref name="latency"/> is set.</summary>
    private static async ValueTask<SinkResult> CountAsync(ValueTask<SinkResult> delivery, long started, ReceivedBatch batch, SignalCounts counts, LatencyHistogram? latency)
    {
        bool ok = false;
        try
        {
            SinkResult result = await delivery.ConfigureAwait(false);
            ok = result.Accepted;
            return result;
        }
        finally
        {
            counts.Add(batch.Signal, batch.ItemCount, ok);
            if (ok)
            {
                latency?.Observe(Stopwatch.GetElapsedTime(started));
            }
        }
    }

    private sealed class CountingSink(ITelemetrySink inner, SignalCounts counts) : ITelemetrySink
    {
        public ValueTask<SinkResult> AcceptAsync(ReceivedBatch batch, CancellationToken cancellationToken) =>
            CountAsync(inner.AcceptAsync(batch, cancellationToken), 0, batch, counts, latency: null);
    }

    private sealed class CountingExporter(IExporter inner, SignalCounts counts, LatencyHistogram latency) : IExporter
    {
        public string Id => inner.Id;

        public ValueTask<SinkResult> ExportAsync(ReceivedBatch batch, CancellationToken cancellationToken)
        {
            long started = Stopwatch.GetTimestamp();
            return CountAsync(inner.ExportAsync(batch, cancellationToken), started, batch, counts, latency);
        }

        // The host starts, stops and disposes the exporter itself; the pipelines only export through this wrapper.
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>
/// A Prometheus histogram of durations in seconds, with fixed buckets from 0.5 ms (a group commit on a fast SSD)
/// to 10 s (a stalled disk). Lock-free: one interlocked add per bucket hit, per count and per sum.
/// </summary>
internal sealed class LatencyHistogram
{
    /// <summary>Upper bounds in seconds; +Inf is implied.</summary>
    public static readonly double[] Bounds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private static readonly string[] BoundLabels = [.. Bounds.Select(b => b.ToString("R", CultureInfo.InvariantCulture)), "+Inf"];

    private readonly long[] _buckets = new long[Bounds.Length + 1];
    private long _count;
    private long _sumTicks;

    public long Count => Interlocked.Read(ref _count);

    public void Observe(TimeSpan elapsed)
    {
        double seconds = elapsed.TotalSeconds;
        int i = 0;
        while (i < Bounds.Length && seconds > Bounds[i])
        {
            i++;
        }

        Interlocked.Increment(ref _buckets[i]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sumTicks, elapsed.Ticks);
    }

    /// <summary>The `_bucket` (cumulative), `_sum` and `_count` samples; the caller writes the family header.</summary>
    public void Write(PrometheusText text, string name, params string[] labels)
    {
        long cumulative = 0;
        string[] withLe = [.. labels, "le", ""];
        for (int i = 0; i < _buckets.Length; i++)
        {
            cumulative += Interlocked.Read(ref _buckets[i]);
            withLe[^1] = BoundLabels[i];
            text.Sample(name + "_bucket", cumulative, withLe);
        }

        text.Sample(name + "_sum", TimeSpan.FromTicks(Interlocked.Read(ref _sumTicks)).TotalSeconds, labels);
        text.Sample(name + "_count", Count, labels);
    }
}
