using System.Buffers.Binary;
using System.Diagnostics;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage;
using TraceSeal.Query;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Tests.TestSupport;
using Xunit.Abstractions;

namespace TraceSeal.Storage.Tests;

/// <summary>
/// Hashing that cannot be steered (issue 10, Build 8). UInt128.GetHashCode folds each half (and ulong's folds
/// its halves), so every trace id of the form X‖X‖Y‖Y — and span id a‖a — hashes alike: a default hash table
/// of n of them costs n² comparisons. A request of 125k such spans must cost about what random ids cost, in the
/// collector (index, block cut) and in the reader. Times are compared within this test only.
/// </summary>
public sealed class CollidingIdTests : IDisposable
{
    private const int Spans = 125_000;
    private const int Runs = 2;
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(1);
    private readonly StoreFixture _f = new();
    private readonly ITestOutputHelper _out;

    public CollidingIdTests(ITestOutputHelper output) => _out = output;

    public void Dispose() => _f.Dispose();

    [Fact]
    public void The_colliding_ids_of_this_test_do_collide_under_the_default_hash()
    {
        var ids = Enumerable.Range(0, 1000).Select(i => CollidingTraceId(new Random(i))).ToList();
        Assert.Single(ids.Select(id => id.GetHashCode()).Distinct());
        Assert.Equal(1000, ids.Distinct().Count());
    }

    [Fact]
    public async Task A_request_of_125k_colliding_ids_is_stored_and_read_within_twice_the_time_of_random_ids()
    {
        var (colliding, collidingProbe) = Build(Spans, colliding: true, seed: 1);
        var (random, randomProbe) = Build(Spans, colliding: false, seed: 2);
        await using var exporter = await _f.StartAsync();

        // Warm-up at full size (JIT, pooled buffers grown to this request), then each kind twice, interleaved,
        // into tenants of their own; the faster run of each is compared, so a stall elsewhere on the machine
        // cannot make either look slow.
        await IngestAsync(exporter, random, "warmup");
        var collidingIngest = TimeSpan.MaxValue;
        var randomIngest = TimeSpan.MaxValue;
        for (int run = 1; run <= Runs; run++)
        {
            collidingIngest = Min(collidingIngest, await IngestAsync(exporter, colliding, $"colliding{run}"));
            randomIngest = Min(randomIngest, await IngestAsync(exporter, random, $"random{run}"));
        }

        _out.WriteLine($"ingest + cut: colliding {collidingIngest.TotalMilliseconds:F0} ms, random {randomIngest.TotalMilliseconds:F0} ms ({colliding.Length} and {random.Length} bytes)");
        Assert.True(
            collidingIngest < (2 * randomIngest) + Slack,
            $"colliding ids took {collidingIngest.TotalMilliseconds:F0} ms to acknowledge and cut, random ids {randomIngest.TotalMilliseconds:F0} ms");
        await exporter.StopAsync(default);
        foreach (var tenant in new[] { "/colliding1/", "/random1/" })
        {
            // Each request was acknowledged and cut into one block with its index.
            Assert.Single(_f.Files("*" + StoreFormat.BlockExtension), p => p.Contains(tenant, StringComparison.Ordinal));
            Assert.Single(_f.Files("*" + StoreFormat.IndexExtension), p => p.Contains(tenant, StringComparison.Ordinal));
        }

        // The reader: a query by one id (index lookup, dedup) and the latest traces (a table of every trace id).
        var reader = _f.Reader();
        Read(reader, "warmup", randomProbe);
        var collidingRead = TimeSpan.MaxValue;
        var randomRead = TimeSpan.MaxValue;
        for (int run = 1; run <= Runs; run++)
        {
            var (elapsed, spans) = Read(reader, $"colliding{run}", collidingProbe);
            Assert.Equal(3, spans); // the probe trace's three spans, found by its id
            collidingRead = Min(collidingRead, elapsed);
            (elapsed, spans) = Read(reader, $"random{run}", randomProbe);
            Assert.Equal(3, spans);
            randomRead = Min(randomRead, elapsed);
        }

        _out.WriteLine($"query by id + latest: colliding {collidingRead.TotalMilliseconds:F0} ms, random {randomRead.TotalMilliseconds:F0} ms");
        Assert.True(
            collidingRead < (2 * randomRead) + Slack,
            $"colliding ids took {collidingRead.TotalMilliseconds:F0} ms to query, random ids {randomRead.TotalMilliseconds:F0} ms");
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static async Task<TimeSpan> IngestAsync(SealedStoreExporter exporter, byte[] payload, string tenant)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var clock = Stopwatch.StartNew();
        var result = await exporter.ExportIndexedAsync(payload, tenant); // validation pass (index entries) + seal + fsync
        Assert.Equal(SinkResult.Ok, result);
        await exporter.CutBlocksAsync(); // the block and its index (sort, dedupe, seal)
        return clock.Elapsed;
    }

    /// <summary>Times a query for <paramref name="probe"/> plus the tenant's latest traces; returns the probe's span count.</summary>
    private static (TimeSpan Elapsed, int ProbeSpans) Read(StoreReader reader, string tenant, byte[] probe)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var clock = Stopwatch.StartNew();
        var byId = reader.Query(new TraceQuery { Tenant = tenant, TraceId = probe, Limit = 0 });
        var latest = reader.Query(new TraceQuery { Tenant = tenant, Limit = 20 });
        var elapsed = clock.Elapsed;
        Assert.Equal(20, latest.TraceCount);
        var spans = byId.Request.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).ToList();
        Assert.All(spans, s => Assert.True(s.TraceId.Span.SequenceEqual(probe)));
        return (elapsed, spans.Count);
    }

    /// <summary>
    /// One request of <paramref name="spans"/> spans, each with its own trace id except the probe trace, whose three
    /// spans lie at the start, the middle and the end (not adjacent, so only a full dedup finds them one trace).
    /// </summary>
    private static (byte[] Payload, byte[] Probe) Build(int spans, bool colliding, int seed)
    {
        var random = new Random(seed);
        var probe = colliding ? CollidingTraceIdBytes(random) : RandomId(random, 16);
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "collide" } };
        var probeAt = new HashSet<int> { 0, spans / 2, spans - 1 };
        ulong start = 1_700_000_000_000_000_000UL;
        for (int i = 0; i < spans; i++)
        {
            var traceId = probeAt.Contains(i) ? probe : colliding ? CollidingTraceIdBytes(random) : RandomId(random, 16);
            scope.Spans.Add(new Span
            {
                TraceId = ByteString.CopyFrom(traceId),
                SpanId = ByteString.CopyFrom(colliding ? CollidingSpanId(random) : RandomId(random, 8)),
                Name = "op",
                StartTimeUnixNano = start + (ulong)i,
                EndTimeUnixNano = start + (ulong)i + 1_000,
            });
        }

        var request = new ExportTraceServiceRequest
        {
            ResourceSpans =
            {
                new ResourceSpans
                {
                    Resource = new Resource { Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "collide" } } } },
                    ScopeSpans = { scope },
                },
            },
        };
        return (request.ToByteArray(), probe);
    }

    /// <summary>X‖X‖Y‖Y (32-bit words, X and Y nonzero): each 64-bit half folds to 0 in ulong.GetHashCode.</summary>
    private static UInt128 CollidingTraceId(Random random) => BinaryPrimitives.ReadUInt128BigEndian(CollidingTraceIdBytes(random));

    private static byte[] CollidingTraceIdBytes(Random random)
    {
        var id = new byte[16];
        uint x = (uint)random.Next(1, int.MaxValue);
        uint y = (uint)random.Next(1, int.MaxValue);
        BinaryPrimitives.WriteUInt32BigEndian(id, x);
        BinaryPrimitives.WriteUInt32BigEndian(id.AsSpan(4), x);
        BinaryPrimitives.WriteUInt32BigEndian(id.AsSpan(8), y);
        BinaryPrimitives.WriteUInt32BigEndian(id.AsSpan(12), y);
        return id;
    }

    /// <summary>a‖a: folds to 0 in ulong.GetHashCode.</summary>
    private static byte[] CollidingSpanId(Random random)
    {
        var id = new byte[8];
        uint a = (uint)random.Next(1, int.MaxValue);
        BinaryPrimitives.WriteUInt32BigEndian(id, a);
        BinaryPrimitives.WriteUInt32BigEndian(id.AsSpan(4), a);
        return id;
    }

    private static byte[] RandomId(Random random, int length)
    {
        var id = new byte[length];
        do
        {
            random.NextBytes(id);
        }
        while (id.AsSpan().IndexOfAnyExcept((byte)0) < 0);

        return id;
    }
}
