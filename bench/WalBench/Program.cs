using System.Diagnostics;
using System.Globalization;
using System.Linq.Expressions;
using System.Reflection;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Otlp;
using TraceSeal.Sealing;

namespace TraceSeal.WalBench;

/// <summary>
/// Acknowledgements per second of the sealed WAL: N writers each append a 1 KiB OTLP trace request through
/// the sealed_store exporter (durability fsync) and wait for its acknowledgement, back to back. One frame is
/// one group commit (one seal, one write, one fsync), so frames/s is fsyncs/s and acks/frame the batching.
///
/// The exporter's types are internal to TraceSeal.Collector and its InternalsVisibleTo list is not this
/// program's to extend, so they are reached by reflection once, and the hot call through a compiled
/// expression (no per-call reflection cost).
/// </summary>
internal static class Program
{
    private static readonly Assembly Collector = Assembly.Load("TraceSeal.Collector");

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

    /// <summary>SealedStoreExporter through reflection: Create, StartAsync, ExportAsync (compiled), StopAsync, FramesWritten.</summary>
    private sealed class Exporter
    {
        private readonly object _exporter;
        private readonly Type _batchType = Type("Pipeline.ReceivedBatch");
        private readonly Func<object, object, Task<bool>> _export;
        private volatile object? _batch;
        private volatile byte[]? _batchPayload;

        public Exporter(string directory, string recipient)
        {
            var settingsType = Type("Config.SealedStoreExporterSettings");
            var settings = Activator.CreateInstance(settingsType)!;
            Set(settings, "Name", "sealed_store");
            Set(settings, "Directory", directory);
            Set(settings, "Recipients", (IReadOnlyList<string>)[recipient]);
            var exporterType = Type("Storage.SealedStoreExporter");
            _exporter = exporterType.GetMethod("Create", BindingFlags.Public | BindingFlags.Static)!
                .Invoke(null, ["sealed_store", settings, Path.Combine(directory, "walbench.yaml"), NullLogger.Instance, null])!;

            // (exporter, batch) => Accepted(((SealedStoreExporter)exporter).ExportAsync((ReceivedBatch)batch, default))
            var e = Expression.Parameter(typeof(object));
            var b = Expression.Parameter(typeof(object));
            var call = Expression.Call(
                Expression.Convert(e, exporterType),
                exporterType.GetMethod("ExportAsync")!,
                Expression.Convert(b, _batchType),
                Expression.Default(typeof(CancellationToken)));
            var resultType = call.Type.GetGenericArguments()[0];
            var r = Expression.Parameter(resultType);
            var accepted = Expression.Lambda(Expression.Property(r, "Accepted"), r).Compile();
            var wait = typeof(Exporter).GetMethod(nameof(AcceptedAsync), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(resultType);
            _export = Expression.Lambda<Func<object, object, Task<bool>>>(
                Expression.Call(wait, call, Expression.Constant(accepted)), e, b).Compile();
        }

        public long Frames => (long)_exporter.GetType().GetProperty("FramesWritten")!.GetValue(_exporter)!;

        public Task StartAsync() => (Task)_exporter.GetType().GetMethod("StartAsync")!.Invoke(_exporter, [CancellationToken.None])!;

        public Task StopAsync() => (Task)_exporter.GetType().GetMethod("StopAsync")!.Invoke(_exporter, [CancellationToken.None])!;

        public Task<bool> ExportAsync(byte[] payload)
        {
            // One boxed batch per payload, reused: the exporter copies the bytes and never mutates the batch.
            if (_batch is null || !ReferenceEquals(_batchPayload, payload))
            {
                _batch = NewBatch(payload);
                _batchPayload = payload;
            }

            return _export(_exporter, _batch);
        }

        private object NewBatch(byte[] payload)
        {
            object batch = Activator.CreateInstance(_batchType)!;
            Set(batch, "Signal", OtlpSignal.Traces);
            Set(batch, "Payload", new ReadOnlyMemory<byte>(payload));
            Set(batch, "ItemCount", 1);
            Set(batch, "Tenant", "bench");
            Set(batch, "Identity", "cn:walbench");
            Set(batch, "Receiver", "otlp");
            return batch;
        }

        private static async Task<bool> AcceptedAsync<T>(ValueTask<T> pending, Func<T, bool> accepted) => accepted(await pending.ConfigureAwait(false));

        private static Type Type(string name) => Collector.GetType("TraceSeal.Collector." + name, throwOnError: true)!;

        private static void Set(object target, string property, object? value) => target.GetType().GetProperty(property)!.SetValue(target, value);
    }
}
