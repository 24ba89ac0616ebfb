using System.IO.Compression;
using System.Net;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.Receivers.Hostile;

/// <summary>
/// Issue 14: a 20 KB gzip body inflating to 21 MB was accepted and sealed (1000x disk amplification per request).
/// With max_decompression_ratio (default 100) it is refused as soon as it inflates past 100x its wire size,
/// before anything reaches the sink, on both protocols; ordinary compressed requests are unaffected.
/// </summary>
public sealed class DecompressionRatioTests : IDisposable
{
    private const string Protobuf = "application/x-protobuf";
    private const string TraceExport = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

    /// <summary>Valid OTLP, about 21 MB, gzipped to a few tens of KB (ratio far above 100).</summary>
    private static readonly Lazy<byte[]> Bomb = new(() => OtlpTestData.Gzip(OtlpTestData.TracesOfSize(21_000_000), CompressionLevel.SmallestSize));

    private readonly ReceiverTestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task a_ratio_bomb_is_refused_on_both_protocols_and_nothing_is_stored()
    {
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(_pki, maxRequestBytes: 32 * 1024 * 1024);
        using HttpClient client = harness.CreateClient(_pki.Client.Certificate);
        byte[] bomb = Bomb.Value;
        Assert.True(bomb.Length < 200_000, $"bomb of {bomb.Length} bytes");

        using HttpResponseMessage http = await client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), bomb, Protobuf, "gzip"));
        GrpcResult grpc = await ReceiverHarness.SendGrpcAsync(client, ReceiverHarness.GrpcPost(harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(bomb, compressed: true), grpcEncoding: "gzip"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, http.StatusCode);
        Assert.Null(http.Headers.RetryAfter); // not retryable: the same body would be refused again
        var status = Google.Rpc.Status.Parser.ParseFrom(await http.Content.ReadAsByteArrayAsync());
        Assert.Equal(Payloads.RatioMessage(100), status.Message);
        Assert.Equal(GrpcCodes.ResourceExhausted, grpc.GrpcStatus);
        Assert.Empty(grpc.Details!.Details); // no RetryInfo: OTLP clients do not retry RESOURCE_EXHAUSTED without it
        Assert.Equal(2, harness.Receiver.Counters.Refused(ReceiveFailure.DecompressionRatioExceeded));
        Assert.Equal(0, harness.Sink.Requests(OtlpSignal.Traces));
        Assert.Equal(0, harness.Receiver.Admission.InFlightBytes);

        // Ordinary gzip (a few x) and a small body that compresses extremely well (under the 64 KiB floor) pass.
        using HttpResponseMessage ordinary = await client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), OtlpTestData.Gzip(OtlpTestData.Traces(50)), Protobuf, "gzip"));
        using HttpResponseMessage tiny = await client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), OtlpTestData.Gzip(OtlpTestData.TracesOfSize(60_000, spans: 1), CompressionLevel.SmallestSize), Protobuf, "gzip"));
        Assert.Equal(HttpStatusCode.OK, ordinary.StatusCode);
        Assert.Equal(HttpStatusCode.OK, tiny.StatusCode);
    }

    [Fact]
    public async Task the_ratio_is_configurable_and_a_higher_one_admits_the_same_body()
    {
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(_pki, maxRequestBytes: 32 * 1024 * 1024, maxDecompressionRatio: 100_000);
        using HttpClient client = harness.CreateClient(_pki.Client.Certificate);

        using HttpResponseMessage http = await client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), Bomb.Value, Protobuf, "gzip"));

        Assert.Equal(HttpStatusCode.OK, http.StatusCode);
        Assert.Equal(0, harness.Receiver.Counters.Refused(ReceiveFailure.DecompressionRatioExceeded));
    }

    [Fact]
    public void inflate_stops_past_ratio_times_the_compressed_size_but_never_below_the_floor()
    {
        byte[] zeros = OtlpTestData.Gzip(new byte[1_000_000], CompressionLevel.SmallestSize);
        int exact = (int)Math.Ceiling(1_000_000.0 / zeros.Length);
        byte[] small = OtlpTestData.Gzip(new byte[60_000], CompressionLevel.SmallestSize);

        Assert.Equal(PayloadResult.Ok, Inflate(zeros, exact, limit: 1L << 30));
        Assert.Equal(PayloadResult.RatioExceeded, Inflate(zeros, exact - 1, limit: 1L << 30));
        Assert.Equal(PayloadResult.TooLarge, Inflate(zeros, exact - 1, limit: 100_000)); // the size limit is the lower one: size, not ratio
        Assert.Equal(PayloadResult.Ok, Inflate(small, 1, limit: 1L << 30)); // under RatioFloorBytes whatever the ratio
    }

    private static PayloadResult Inflate(byte[] gzip, int ratio, long limit)
    {
        using var output = new PooledBufferWriter(4096, limit + 1);
        return Payloads.Inflate(gzip, ContentCoding.Gzip, output, limit, ratio);
    }
}
