using System.IO.Compression;
using System.Net;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Collector.Tests.Receivers;

/// <summary>
/// Admission by bytes over a real mTLS receiver: the budget is reserved when the size is known, grows with
/// inflation and transcoding, is held until the sink returns, is always given back, and a full budget is a
/// retryable refusal (HTTP 503 + Retry-After, gRPC UNAVAILABLE + RetryInfo) that never outlives the load.
/// </summary>
public sealed class AdmissionBudgetTests : IDisposable
{
    private const string Protobuf = "application/x-protobuf";
    private const string TraceExport = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    private const long Mib = 1024 * 1024;

    /// <summary>These bodies inflate several hundred times: the budget, not max_decompression_ratio, is under test here.</summary>
    private const int NoRatioLimit = 100_000;

    /// <summary>About 20 MB of valid protobuf in a few hundred KB of gzip (issue 10's "three gzip requests").</summary>
    private static readonly Lazy<(byte[] Gzip, int Spans)> Inflating = new(() =>
    {
        byte[] protobuf = OtlpTestData.TracesOfSize(20_000_000);
        return (OtlpTestData.Gzip(protobuf, CompressionLevel.SmallestSize), 20);
    });

    private readonly ReceiverTestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task three_concurrent_gzip_bodies_inflating_to_20_mb_then_ordinary_requests_succeed()
    {
        // Each body reserves about 25 MB once inflated (its buffer grows by doubling, capped at the 24 MiB limit);
        // 64 MiB holds two of them, not three. The sink holds the two that fit, so the third is refused (retryably)
        // while they are in flight, deterministically.
        var budget = new AdmissionBudget(64 * Mib);
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(_pki, maxRequestBytes: 24 * Mib, admission: budget, maxDecompressionRatio: NoRatioLimit);
        using HttpClient client = harness.CreateClient(_pki.Client.Certificate);
        byte[] gzip = Inflating.Value.Gzip;
        Assert.True(gzip.Length < 64 * 1024, $"gzip body of {gzip.Length} bytes");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int held = 0;
        harness.Sink.Behavior = async (batch, token) =>
        {
            if (batch.Payload.Length > Mib)
            {
                Interlocked.Increment(ref held);
                await release.Task.WaitAsync(token);
            }

            return SinkResult.Ok;
        };

        Task<HttpResponseMessage>[] bombs = [.. Enumerable.Range(0, 3).Select(_ => client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), gzip, Protobuf, "gzip")))];
        await Eventually.TrueAsync(() => Volatile.Read(ref held) == 2 && bombs.Count(t => t.IsCompleted) == 1, "two inflated bodies held by the sink and the third answered");

        Task<HttpResponseMessage> refusedBomb = bombs.Single(t => t.IsCompleted);
        using HttpResponseMessage refused = await refusedBomb;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        Assert.Equal(AdmissionBudget.RefusalMessage, Google.Rpc.Status.Parser.ParseFrom(await refused.Content.ReadAsByteArrayAsync()).Message);
        Assert.Equal(1, budget.Refused);
        Assert.Equal(1, harness.Receiver.Counters.Refused(ReceiveFailure.AdmissionBudgetExhausted));
        Assert.InRange(budget.InFlightBytes, 40_000_000, budget.CapacityBytes);

        // Ordinary requests fit beside the two held bodies.
        using HttpResponseMessage protobuf = await client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), OtlpTestData.Traces(5), Protobuf));
        using HttpResponseMessage json = await client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/logs"), OtlpTestData.Json(OtlpTestData.Logs(3), OtlpSignal.Logs), "application/json"));
        GrpcResult grpc = await ReceiverHarness.SendGrpcAsync(client, ReceiverHarness.GrpcPost(harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(OtlpTestData.Traces(4))));
        Assert.Equal(HttpStatusCode.OK, protobuf.StatusCode);
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        Assert.Equal(GrpcCodes.Ok, grpc.GrpcStatus);

        // The held bodies are acknowledged; the refused one, sent again as its client would, is accepted.
        release.SetResult();
        foreach (Task<HttpResponseMessage> bomb in bombs.Where(t => t != refusedBomb))
        {
            using HttpResponseMessage accepted = await bomb;
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        using HttpResponseMessage retried = await client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), gzip, Protobuf, "gzip"));
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal((3 * Inflating.Value.Spans) + 9, harness.Sink.Items(OtlpSignal.Traces));
        Assert.Equal(3, harness.Sink.Items(OtlpSignal.Logs));
        Assert.Equal(0, budget.InFlightBytes);
    }

    [Fact]
    public async Task a_request_the_budget_cannot_hold_is_refused_retryably_before_its_body_is_read()
    {
        var budget = new AdmissionBudget(8 * Mib);
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(_pki, admission: budget);
        using HttpClient client = harness.CreateClient(_pki.Client.Certificate);
        long othersInFlight = budget.CapacityBytes - 1000;
        Assert.True(budget.TryReserve(othersInFlight)); // other requests hold all but 1000 bytes

        using HttpResponseMessage http = await client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), OtlpTestData.Traces(100), Protobuf));
        GrpcResult grpc = await ReceiverHarness.SendGrpcAsync(client, ReceiverHarness.GrpcPost(harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(OtlpTestData.Traces(100))));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, http.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), http.Headers.RetryAfter?.Delta);
        var status = Google.Rpc.Status.Parser.ParseFrom(await http.Content.ReadAsByteArrayAsync());
        Assert.Equal(GrpcCodes.Unavailable, status.Code);
        Assert.Equal(AdmissionBudget.RefusalMessage, status.Message);
        Assert.Equal(TimeSpan.FromSeconds(1), status.Details.Single().Unpack<Google.Rpc.RetryInfo>().RetryDelay.ToTimeSpan());
        Assert.Equal(GrpcCodes.Unavailable, grpc.GrpcStatus);
        Assert.Equal(TimeSpan.FromSeconds(1), grpc.Details!.Details.Single().Unpack<Google.Rpc.RetryInfo>().RetryDelay.ToTimeSpan());
        Assert.Equal(2, harness.Receiver.Counters.Refused(ReceiveFailure.AdmissionBudgetExhausted));
        Assert.Equal(2, budget.Refused);
        Assert.Equal(0, harness.Sink.Items(OtlpSignal.Traces));
        Assert.Equal(othersInFlight, budget.InFlightBytes);

        // The others finish: the same requests are accepted.
        budget.Release(othersInFlight);
        using HttpResponseMessage httpAgain = await client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), OtlpTestData.Traces(100), Protobuf));
        GrpcResult grpcAgain = await ReceiverHarness.SendGrpcAsync(client, ReceiverHarness.GrpcPost(harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(OtlpTestData.Traces(100))));

        Assert.Equal(HttpStatusCode.OK, httpAgain.StatusCode);
        Assert.Equal(GrpcCodes.Ok, grpcAgain.GrpcStatus);
        Assert.Equal(200, harness.Sink.Items(OtlpSignal.Traces));
        Assert.Equal(0, budget.InFlightBytes);
    }

    [Theory]
    [InlineData("http/protobuf")]
    [InlineData("grpc")]
    public async Task the_declared_length_is_reserved_before_the_body_arrives_and_a_full_budget_refuses_without_waiting_for_it(string protocol)
    {
        // HTTP declares the size in Content-Length (nothing of the body is sent), gRPC in the 5-byte prefix (only it
        // is sent); the client holds the rest back until released.
        var budget = new AdmissionBudget(8 * Mib);
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(_pki, admission: budget);
        using HttpClient client = harness.CreateClient(_pki.Client.Certificate);
        bool grpc = protocol == "grpc";
        byte[] body = grpc ? OtlpTestData.GrpcFrame(OtlpTestData.Traces(100)) : OtlpTestData.Traces(100);
        int sentFirst = grpc ? 5 : 0;

        async Task<(bool Ok, TimeSpan? RetryAfter)> SendAsync(HeldBody held)
        {
            if (grpc)
            {
                GrpcResult result = await ReceiverHarness.SendGrpcAsync(client, GrpcPost(harness.GrpcUri(TraceExport), held));
                return (result.GrpcStatus == GrpcCodes.Ok, result.GrpcStatus == GrpcCodes.Unavailable ? result.Details?.Details.Single().Unpack<Google.Rpc.RetryInfo>().RetryDelay.ToTimeSpan() : null);
            }

            using HttpResponseMessage response = await client.SendAsync(Post(harness.HttpUri("/v1/traces"), held));
            return (response.StatusCode == HttpStatusCode.OK, response.StatusCode == HttpStatusCode.ServiceUnavailable ? response.Headers.RetryAfter?.Delta : null);
        }

        // Room in the budget: the declared length is reserved while the body is still held back.
        using (var held = new HeldBody(body, sentFirst))
        {
            Task<(bool Ok, TimeSpan? RetryAfter)> pending = SendAsync(held);
            await Eventually.TrueAsync(() => budget.InFlightBytes >= body.Length - sentFirst, "the declared length to be reserved before the body arrives");
            Assert.Equal(sentFirst, held.BytesSent);
            Assert.False(pending.IsCompleted);
            held.Release();
            Assert.True((await pending).Ok);
            Assert.Equal(0, budget.InFlightBytes);
        }

        // No room: refused retryably on the declared length alone, while the client still holds the body back.
        long othersInFlight = budget.CapacityBytes - 1000;
        Assert.True(budget.TryReserve(othersInFlight));
        using (var held = new HeldBody(body, sentFirst))
        {
            var (ok, retryAfter) = await SendAsync(held).WaitAsync(ReceiverHarness.Timeout);
            Assert.Equal(sentFirst, held.BytesSent);
            Assert.False(ok);
            Assert.Equal(TimeSpan.FromSeconds(1), retryAfter);
        }

        Assert.Equal(1, harness.Receiver.Counters.Refused(ReceiveFailure.AdmissionBudgetExhausted));
        Assert.Equal(othersInFlight, budget.InFlightBytes);
        Assert.Equal(100, harness.Sink.Items(OtlpSignal.Traces));
    }

    [Fact]
    public async Task a_gzip_body_that_outgrows_the_budget_while_inflating_is_refused_and_gives_back_what_it_held()
    {
        // The compressed bodies fit; their 20 MB of inflated protobuf does not fit in 8 MiB.
        var budget = new AdmissionBudget(8 * Mib);
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(_pki, maxRequestBytes: 24 * Mib, admission: budget, maxDecompressionRatio: NoRatioLimit);
        using HttpClient client = harness.CreateClient(_pki.Client.Certificate);
        byte[] gzip = Inflating.Value.Gzip;

        using HttpResponseMessage http = await client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), gzip, Protobuf, "gzip"));
        Assert.Equal(0, budget.InFlightBytes);
        GrpcResult grpc = await ReceiverHarness.SendGrpcAsync(client, ReceiverHarness.GrpcPost(harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(gzip, compressed: true), grpcEncoding: "gzip"));
        Assert.Equal(0, budget.InFlightBytes);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, http.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), http.Headers.RetryAfter?.Delta);
        Assert.Equal(GrpcCodes.Unavailable, grpc.GrpcStatus);
        Assert.Equal(AdmissionBudget.RefusalMessage, Uri.UnescapeDataString(grpc.GrpcMessage!));
        Assert.Equal(2, harness.Receiver.Counters.Refused(ReceiveFailure.AdmissionBudgetExhausted));
        Assert.Equal(0, harness.Sink.Items(OtlpSignal.Traces));
    }

    [Fact]
    public async Task a_body_without_content_length_is_reserved_as_it_arrives()
    {
        var budget = new AdmissionBudget(8 * Mib);
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(_pki, maxRequestBytes: 4 * Mib, admission: budget);
        using HttpClient client = harness.CreateClient(_pki.Client.Certificate);
        long othersInFlight = budget.CapacityBytes - (256 * 1024);
        Assert.True(budget.TryReserve(othersInFlight));
        var content = new StreamContent(new UnknownLengthStream(new MemoryStream(new byte[1024 * 1024])));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(Protobuf);
        using var request = new HttpRequestMessage(HttpMethod.Post, harness.HttpUri("/v1/traces"))
        {
            Content = content,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using HttpResponseMessage response = await client.SendAsync(request);

        Assert.Null(request.Content.Headers.ContentLength);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, harness.Receiver.Counters.Refused(ReceiveFailure.AdmissionBudgetExhausted));
        Assert.Equal(othersInFlight, budget.InFlightBytes);
    }

    [Fact]
    public async Task json_transcoding_reserves_its_scratch_while_it_runs()
    {
        // The JSON body and its protobuf fit; the transcoder's scratch (3 bytes per JSON byte) does not.
        byte[] json = OtlpTestData.Json(OtlpTestData.Traces(2000), OtlpSignal.Traces);
        var budget = new AdmissionBudget(8 * Mib);
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(_pki, maxRequestBytes: 4 * Mib, admission: budget);
        using HttpClient client = harness.CreateClient(_pki.Client.Certificate);
        long othersInFlight = budget.CapacityBytes - (3L * json.Length);
        Assert.True(budget.TryReserve(othersInFlight));

        using HttpResponseMessage refused = await client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), json, "application/json"));
        Assert.Equal(othersInFlight, budget.InFlightBytes);
        budget.Release(othersInFlight);
        using HttpResponseMessage accepted = await client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), json, "application/json"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("application/json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(2000, harness.Sink.Items(OtlpSignal.Traces));
        Assert.Equal(0, budget.InFlightBytes);
    }

    [Fact]
    public async Task the_budget_is_held_until_the_sink_returns()
    {
        var budget = new AdmissionBudget(64 * Mib);
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(_pki, admission: budget);
        using HttpClient client = harness.CreateClient(_pki.Client.Certificate);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        harness.Sink.Behavior = async (_, token) =>
        {
            await release.Task.WaitAsync(token);
            return SinkResult.Ok;
        };
        byte[] body = OtlpTestData.Traces(500);

        Task<HttpResponseMessage> pending = client.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), body, Protobuf));
        await Eventually.TrueAsync(() => budget.InFlightBytes >= body.Length, "the body to be reserved while the sink holds it");
        Assert.False(pending.IsCompleted);
        release.SetResult();
        using HttpResponseMessage response = await pending;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, budget.InFlightBytes);
    }

    [Fact]
    public void one_request_of_the_largest_allowed_size_always_fits_the_minimum_budget()
    {
        var receiver = new OtlpReceiverSettings
        {
            Name = "otlp",
            Grpc = new OtlpProtocolSettings { Endpoint = "127.0.0.1:0", AllowPlaintext = true, MaxRequestBytes = 4 * Mib },
            Http = new OtlpProtocolSettings { Endpoint = "127.0.0.1:0", AllowPlaintext = true, MaxRequestBytes = 20 * Mib },
        };

        // HTTP's worst case: body, inflated body, transcoded body and the transcoder's scratch, each at most limit + 1.
        Assert.Equal(6 * ((20 * Mib) + 1), AdmissionSettings.MinimumBytes([receiver]));
        Assert.Equal(2 * ((4 * Mib) + 1), AdmissionSettings.PerRequestBytes(4 * Mib, http: false));
        Assert.Equal(2L << 30, AdmissionSettings.DefaultBytes([receiver], availableMemoryBytes: 24L << 30));
        Assert.Equal(6 * ((20 * Mib) + 1), AdmissionSettings.DefaultBytes([receiver], availableMemoryBytes: 256 * Mib));
        Assert.Equal(64 * Mib, AdmissionSettings.DefaultBytes([], availableMemoryBytes: 256 * Mib));
    }

    private static HttpRequestMessage Post(Uri uri, HeldBody content)
    {
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(Protobuf);
        return new HttpRequestMessage(HttpMethod.Post, uri) { Content = content, Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
    }

    private static HttpRequestMessage GrpcPost(Uri uri, HeldBody content)
    {
        HttpRequestMessage request = ReceiverHarness.GrpcPost(uri, []);
        content.Headers.ContentType = request.Content!.Headers.ContentType;
        request.Content = content;
        return request;
    }

    /// <summary>
    /// A body with a declared length (Content-Length) of which only the first <c>sendFirst</c> bytes are sent (and
    /// flushed, headers included); the rest waits for <see cref="Release"/> or the request's cancellation.
    /// <see cref="BytesSent"/> is <c>sendFirst</c> until the release, then the whole body.
    /// </summary>
    private sealed class HeldBody(byte[] body, int sendFirst) : HttpContent
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _sent;

        public int BytesSent => Volatile.Read(ref _sent);

        public void Release() => _release.TrySetResult();

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            Volatile.Write(ref _sent, sendFirst); // counted as handed over before it is, so a fast answer cannot see 0
            await stream.WriteAsync(body.AsMemory(0, sendFirst), cancellationToken);
            await stream.FlushAsync(cancellationToken);
            await _release.Task.WaitAsync(cancellationToken);
            Volatile.Write(ref _sent, body.Length);
            await stream.WriteAsync(body.AsMemory(sendFirst), cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }

        protected override void Dispose(bool disposing)
        {
            _release.TrySetCanceled();
            base.Dispose(disposing);
        }
    }

    /// <summary>Hides the length, so HttpClient sends the body without Content-Length.</summary>
    private sealed class UnknownLengthStream(Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 64 * 1024));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
