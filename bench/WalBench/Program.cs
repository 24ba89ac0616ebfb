using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage;
using TraceSeal.Collector.Storage.Index;
using TraceSeal.Otlp;
using TraceSeal.Sealing;

namespace TraceSeal.WalBench;

/// <summary>
/// Acknowledgements per second of the sealed WAL: N writers each append a 1 KiB OTLP trace request through
/// the sealed_store exporter (durability fsync) and wait for its acknowledgement, back to back. One frame is
/// one group commit (one seal, one write, one fsync), so frames/s is fsyncs/s and acks/frame the batching.
///
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        double seconds = 5;
        int[] writerCounts = [1, 16, 256];
        string? dir = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--seconds": seconds = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--writers": writerCounts = [.. args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))]; break;
                case "--dir": dir = args[++i]; break;
                default:
                    Console.Error.WriteLine("usage: WalBench [--seconds 5] [--writers 1,16,256] [--dir DIR (on the disk to measure; default: a temp dir)]");
                    return 2;
            }
        }

        var root = dir is null ? Directory.CreateTempSubdirectory("traceseal-walbench-").FullName : Directory.CreateDirectory(dir).FullName;
        KeyFiles.Init(Path.Combine(root, "keys"), "bench", force: true);
        var payload = Payload(1024);
        Console.WriteLine($"WAL acknowledgements: {payload.Length}-byte requests, durability fsync, {seconds} s per level, store under {root}");
        Console.WriteLine($"{"writers",7} {"acks/s",10} {"frames/s",10} {"acks/frame",10} {"p50 ms",8} {"p99 ms",8} {"refused",8}");
        foreach (var writers in writerCounts)
        {
            var store = Path.Combine(root, $"store-{writers}");
            if (Directory.Exists(store))
            {
                Directory.Delete(store, recursive: true);
            }

            var r = await RunLevelAsync(store, Path.Combine(root, "keys", "bench.recipient.pem"), payload, writers, TimeSpan.FromSeconds(seconds));
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{writers,7} {r.Acks / r.Seconds,10:F0} {r.Frames / r.Seconds,10:F0} {(r.Frames == 0 ? 0 : (double)r.Acks / r.Frames),10:F1} {r.P50Ms,8:F2} {r.P99Ms,8:F2} {r.Refused,8}"));
        }

        if (dir is null)
        {
            Directory.Delete(root, recursive: true);
        }

        return 0;
    }

    private static async Task<Result> RunLevelAsync(string store, string recipient, byte[] payload, int writers, TimeSpan duration)
    {
        var exporter = new Exporter(store, recipient);
        await exporter.StartAsync();
        try
        {
            // Warm-up (JIT, first segment, first fsync) outside the measurement.
            for (int i = 0; i < 20; i++)
            {
                await exporter.ExportAsync(payload);
            }

            long framesBefore = exporter.Frames;
            using var stop = new CancellationTokenSource();
            var latencies = new List<long>[writers];
            long refused = 0;
            var clock = Stopwatch.StartNew();
            var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
            {
                var mine = latencies[w] = new List<long>(4096);
                while (!stop.IsCancellationRequested)
                {
                    long start = Stopwatch.GetTimestamp();
                    if (await exporter.ExportAsync(payload))
                    {
                        mine.Add(Stopwatch.GetTimestamp() - start);
                    }
                    else
                    {
                        Interlocked.Increment(ref refused);
                    }
                }
            })).ToArray();
            stop.CancelAfter(duration);
            await Task.WhenAll(tasks);
            double elapsed = clock.Elapsed.TotalSeconds;
            long frames = exporter.Frames - framesBefore;
            var all = latencies.SelectMany(l => l).Order().ToArray();
            double Percentile(double p) => all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)(p * all.Length))] * 1000.0 / Stopwatch.Frequency;
            return new Result(all.Length, frames, elapsed, Percentile(0.50), Percentile(0.99), refused);
        }
        finally
        {
            await exporter.StopAsync();
        }
    }

    /// <summary>A valid ExportTraceServiceRequest of about <paramref name="size"/> bytes (the block index parses it).</summary>
    private static byte[] Payload(int size)
    {
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(Enumerable.Range(1, 16).Select(i => (byte)i).ToArray()),
            SpanId = ByteString.CopyFrom(Enumerable.Range(1, 8).Select(i => (byte)i).ToArray()),
            Name = "GET /cart",
            Kind = Span.Types.SpanKind.Server,
            StartTimeUnixNano = 1_700_000_000_000_000_000UL,
            EndTimeUnixNano = 1_700_000_000_005_000_000UL,
        };
        var request = new ExportTraceServiceRequest
        {
            ResourceSpans =
            {
                new ResourceSpans
                {
                    Resource = new Resource { Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "walbench" } } } },
                    ScopeSpans = { new ScopeSpans { Spans = { span } } },
                },
            },
        };
        int pad = Math.Max(0, size - request.CalculateSize() - 16);
        span.Attributes.Add(new KeyValue { Key = "pad", Value = new AnyValue { StringValue = new string('x', pad) } });
        return request.ToByteArray();
    }

    private sealed record Result(long Acks, long Frames, double Seconds, double P50Ms, double P99Ms, long Refused);

    /// <summary>The sealed_store exporter, called directly (TraceSeal.Collector lists this program in InternalsVisibleTo).</summary>
    private sealed class Exporter
    {
        private readonly SealedStoreExporter _exporter;

        public Exporter(string directory, string recipient)
        {
            var settings = new SealedStoreExporterSettings
            {
                Name = "sealed_store",
                Directory = directory,
                Recipients = [recipient],
            };
            _exporter = SealedStoreExporter.Create("sealed_store", settings, Path.Combine(directory, "walbench.yaml"), NullLogger.Instance);
        }

        public long Frames => _exporter.FramesWritten;

        public Task StartAsync() => _exporter.StartAsync(CancellationToken.None);

        public Task StopAsync() => _exporter.StopAsync(CancellationToken.None);

        public async Task<bool> ExportAsync(byte[] payload)
        {
            // The receiver's one pass: validation that also gathers the index entries.
            var index = RequestIndex.Rent();
            try
            {
                var visitor = index.CreateVisitor();
                OtlpValidator.TryValidate(payload, OtlpSignal.Traces, ref visitor, out var summary, out _);
                var batch = new ReceivedBatch
                {
                    Signal = OtlpSignal.Traces,
                    Payload = payload,
                    ItemCount = summary.ItemCount,
                    Tenant = "bench",
                    Identity = "cn:walbench",
                    Receiver = "otlp",
                    Index = index,
                };
                var result = await _exporter.ExportAsync(batch, CancellationToken.None).ConfigureAwait(false);
                return result.Accepted;
            }
            finally
            {
                RequestIndex.Return(index);
            }
        }
    }
}
