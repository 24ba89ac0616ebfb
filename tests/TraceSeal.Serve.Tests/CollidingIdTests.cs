using System.Buffers.Binary;
using System.Net;
using System.Text.Json;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Otlp;
using TraceSeal.Serve.Tests.TestSupport;
using TraceSeal.Storage.Format;

namespace TraceSeal.Serve.Tests;

/// <summary>
/// The reader's half of issue 10 Build 8 (hashing that cannot be steered), through serve's real entry points over a store
/// the collector wrote: trace ids X‖X‖Y‖Y and span ids a‖a (UInt128's and ulong's default hashes fold them to one
/// bucket), and one trace of <see cref="BigTrace"/> spans in one resource (a protobuf message's own hash walks every span
/// in it, so keying a table by the message cost spans² span hashes: about 1.6e9 here, far past the client's 30 s
/// timeout). The answers must be right; the structural guard is that they come back at all within that timeout.
/// </summary>
public sealed class CollidingIdTests(CollidingIdTests.Fixture f) : IClassFixture<CollidingIdTests.Fixture>
{
    private const int Traces = 50_000;
    private const int BigTrace = 40_000;

    [Fact]
    public void The_crafted_ids_collide_under_the_default_hashes_and_not_under_the_id_comparers()
    {
        var traces = Enumerable.Range(1, 1000).Select(i => BinaryPrimitives.ReadUInt128BigEndian(TraceId(i))).ToList();
        var spans = Enumerable.Range(1, 1000).Select(i => BinaryPrimitives.ReadUInt64BigEndian(SpanId(i))).ToList();
        Assert.Single(traces.Select(t => t.GetHashCode()).Distinct());
        Assert.Single(spans.Select(s => s.GetHashCode()).Distinct());
        Assert.True(traces.Select(TraceIdComparer.Instance.GetHashCode).Distinct().Count() > 990);
        Assert.True(spans.Select(SpanIdComparer.Instance.GetHashCode).Distinct().Count() > 990);

        // ByteString's hash is a fixed polynomial (h = 31h + b): byte pairs (b, c) with 31b + c = 248 are interchangeable
        // (9^4 = 6561 eight-byte ids share a hash; 81 of them here). Why serve never keys a table by a ByteString.
        var pairs = Enumerable.Range(0, 9).Select(b => (B: (byte)b, C: (byte)(248 - (31 * b)))).ToList();
        var polynomial = pairs.SelectMany(p0 => pairs.Select(p1 => ByteString.CopyFrom(p0.B, p0.C, p1.B, p1.C, 1, 217, 8, 0))).ToList();
        Assert.Equal(81, polynomial.Distinct().Count());
        Assert.Single(polynomial.Select(id => id.GetHashCode()).Distinct());
    }

    [Theory]
    [InlineData("/api/traces/", false)]
    [InlineData("/api/v2/traces/", true)]
    public async Task tempo_returns_every_span_of_a_trace_of_40k_spans_with_colliding_span_ids(string path, bool v2)
    {
        var (status, body, _) = await f.GetAsync(path + Hex(TraceId(0)));
        Assert.Equal(HttpStatusCode.OK, status);
        var doc = JsonDocument.Parse(body).RootElement;
        var batches = v2 ? doc.GetProperty("trace").GetProperty("resourceSpans") : doc.GetProperty("batches");
        var batch = Assert.Single(batches.EnumerateArray()); // one resource: grouped by the message, not by its content
        var spans = Assert.Single(batch.GetProperty("scopeSpans").EnumerateArray()).GetProperty("spans").EnumerateArray().ToList();
        Assert.Equal(BigTrace, spans.Count);
        Assert.Equal(BigTrace, spans.Select(s => s.GetProperty("spanId").GetString()).Distinct(StringComparer.Ordinal).Count());
        Assert.All(spans, s => Assert.Equal(Hex(TraceId(0)), s.GetProperty("traceId").GetString()));
    }

    [Fact]
    public async Task tempo_protobuf_returns_every_span_of_the_big_trace()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/traces/" + Hex(TraceId(0)));
        request.Headers.Accept.ParseAdd("application/protobuf");
        using var response = await f.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var trace = ExportTraceServiceRequest.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(BigTrace, Assert.Single(Assert.Single(trace.ResourceSpans).ScopeSpans).Spans.Count);
    }

    [Fact]
    public async Task jaeger_returns_the_big_trace_with_one_process_and_its_root()
    {
        var (status, body, _) = await f.GetAsync("/jaeger/api/traces/" + Hex(TraceId(0)));
        Assert.Equal(HttpStatusCode.OK, status);
        var trace = Assert.Single(JsonDocument.Parse(body).RootElement.GetProperty("data").EnumerateArray());
        Assert.Equal(BigTrace, trace.GetProperty("spans").GetArrayLength());
        Assert.Equal("p1", Assert.Single(trace.GetProperty("processes").EnumerateObject()).Name);
        var root = trace.GetProperty("spans").EnumerateArray().First(); // earliest start first: span 1, the root
        Assert.Equal(Hex(SpanId(1)), root.GetProperty("spanID").GetString());
        Assert.Equal(0, root.GetProperty("references").GetArrayLength());
    }

    [Fact]
    public async Task tempo_search_finds_the_1000_newest_of_50k_colliding_trace_ids()
    {
        var (status, body, _) = await f.GetAsync("/api/search?limit=1000&tags=service.name%3Dcollide");
        Assert.Equal(HttpStatusCode.OK, status);
        var traces = JsonDocument.Parse(body).RootElement.GetProperty("traces").EnumerateArray().ToList();
        Assert.Equal(Newest(1000), traces.Select(t => t.GetProperty("traceID").GetString()!).Order(StringComparer.Ordinal));
        Assert.All(traces, t => Assert.Equal("op", t.GetProperty("rootTraceName").GetString()));
    }

    [Fact]
    public async Task jaeger_search_finds_the_1000_newest_of_50k_colliding_trace_ids()
    {
        var (status, body, _) = await f.GetAsync("/jaeger/api/traces?service=collide&limit=1000");
        Assert.Equal(HttpStatusCode.OK, status);
        var traces = JsonDocument.Parse(body).RootElement.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(Newest(1000), traces.Select(t => t.GetProperty("traceID").GetString()!).Order(StringComparer.Ordinal));
        Assert.All(traces, t => Assert.Equal(1, t.GetProperty("spans").GetArrayLength()));
    }

    [Fact]
    public async Task a_colliding_trace_in_the_middle_of_the_block_is_found_by_id()
    {
        var (status, body, _) = await f.GetAsync("/api/v2/traces/" + Hex(TraceId(Traces / 2)));
        Assert.Equal(HttpStatusCode.OK, status);
        var span = JsonDocument.Parse(body).RootElement.GetProperty("trace").GetProperty("resourceSpans")[0].GetProperty("scopeSpans")[0].GetProperty("spans")[0];
        Assert.Equal(Hex(TraceId(Traces / 2)), span.GetProperty("traceId").GetString());
        Assert.Equal(Hex(SpanId(Traces / 2)), span.GetProperty("spanId").GetString());
    }

    /// <summary>The hex ids of the <paramref name="count"/> most recent one-span traces (trace i starts at T0 + i µs).</summary>
    private static List<string> Newest(int count) =>
        Enumerable.Range(Traces - count + 1, count).Select(i => Hex(TraceId(i))).Order(StringComparer.Ordinal).ToList();

    private static string Hex(byte[] id) => Convert.ToHexStringLower(id);

    /// <summary>X‖X‖Y‖Y in 32-bit words (X = i + 1, Y = 7919·(i + 1)): each 64-bit half folds to 0.</summary>
    private static byte[] TraceId(int i)
    {
        var id = new byte[16];
        uint x = (uint)i + 1, y = (uint)(i + 1) * 7919;
        BinaryPrimitives.WriteUInt32BigEndian(id, x);
        BinaryPrimitives.WriteUInt32BigEndian(id.AsSpan(4), x);
        BinaryPrimitives.WriteUInt32BigEndian(id.AsSpan(8), y);
        BinaryPrimitives.WriteUInt32BigEndian(id.AsSpan(12), y);
        return id;
    }

    /// <summary>a‖a (a = i + 1): folds to 0 in ulong.GetHashCode.</summary>
    private static byte[] SpanId(int i)
    {
        var id = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(id, (uint)i + 1);
        BinaryPrimitives.WriteUInt32BigEndian(id.AsSpan(4), (uint)i + 1);
        return id;
    }

    /// <summary>
    /// One block (written by the collector's exporter, its index built from these ids): trace 0 with <see cref="BigTrace"/>
    /// spans in one resource and scope (span 1 the root, each next span a child of the one before), then traces 1..50k of
    /// one span each.
    /// </summary>
    public sealed class Fixture : ServeFixture
    {
        internal override async Task WriteStoreAsync(StoreBuilder store)
        {
            var big = new ScopeSpans { Scope = new InstrumentationScope { Name = "collide" } };
            for (int n = 1; n <= BigTrace; n++)
            {
                big.Spans.Add(NewSpan(TraceId(0), SpanId(n), n == 1 ? null : SpanId(n - 1), ServeData.T0 + (ulong)n));
            }

            var many = new ScopeSpans { Scope = new InstrumentationScope { Name = "collide" } };
            for (int i = 1; i <= Traces; i++)
            {
                many.Spans.Add(NewSpan(TraceId(i), SpanId(i), null, ServeData.T0 + (ulong)i * 1_000));
            }

            await store.WriteAsync(cut: true, (Request(big), OtlpSignal.Traces), (Request(many), OtlpSignal.Traces));
        }

        private static ExportTraceServiceRequest Request(ScopeSpans scope) =>
            new() { ResourceSpans = { new ResourceSpans { Resource = ServeData.ServiceResource("collide"), ScopeSpans = { scope } } } };

        private static Span NewSpan(byte[] traceId, byte[] spanId, byte[]? parent, ulong start) => new()
        {
            TraceId = ByteString.CopyFrom(traceId),
            SpanId = ByteString.CopyFrom(spanId),
            ParentSpanId = parent is null ? ByteString.Empty : ByteString.CopyFrom(parent),
            Name = "op",
            Kind = Span.Types.SpanKind.Server,
            StartTimeUnixNano = start,
            EndTimeUnixNano = start + 500,
        };
    }
}
