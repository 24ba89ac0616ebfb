using System.Net;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.Receivers;

public sealed class OtlpHttpReceiverTests(MtlsReceiverFixture fixture) : IClassFixture<MtlsReceiverFixture>
{
    private const string Protobuf = "application/x-protobuf";
    private const string Json = "application/json";

    private ReceiverHarness Harness => fixture.Harness;

    private HttpClient Client => fixture.Client;

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task Protobuf_traces_are_accepted_with_exact_counts_and_a_protobuf_response(string version)
    {
        long before = Harness.Sink.Items(OtlpSignal.Traces);
        using var request = ReceiverHarness.HttpPost(Harness.HttpUri("/v1/traces"), OtlpTestData.Traces(7), Protobuf, version: Version.Parse(version));

        using HttpResponseMessage response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Protobuf, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Version.Parse(version), response.Version);
        var body = OpenTelemetry.Proto.Collector.Trace.V1.ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(0, body.PartialSuccess?.RejectedSpans ?? 0);
        Assert.Equal(before + 7, Harness.Sink.Items(OtlpSignal.Traces));
        Assert.Equal("default", Harness.Sink.LastTenant);
        Assert.Equal("uri:" + ReceiverTestPki.ClientSpiffeId, Harness.Sink.LastIdentity);
    }

    [Fact]
    public async Task Json_metrics_and_logs_are_transcoded_and_answered_in_json()
    {
        long metrics = Harness.Sink.Items(OtlpSignal.Metrics);
        long logs = Harness.Sink.Items(OtlpSignal.Logs);

        using var metricsRequest = ReceiverHarness.HttpPost(Harness.HttpUri("/v1/metrics"), OtlpTestData.Json(OtlpTestData.Metrics(5), OtlpSignal.Metrics), Json);
        using HttpResponseMessage metricsResponse = await Client.SendAsync(metricsRequest);
        using var logsRequest = ReceiverHarness.HttpPost(Harness.HttpUri("/v1/logs"), OtlpTestData.Json(OtlpTestData.Logs(3), OtlpSignal.Logs), "application/json; charset=utf-8");
        using HttpResponseMessage logsResponse = await Client.SendAsync(logsRequest);

        Assert.Equal(HttpStatusCode.OK, metricsResponse.StatusCode);
        Assert.Equal(Json, metricsResponse.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("{", await metricsResponse.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, logsResponse.StatusCode);
        Assert.Equal(metrics + 5, Harness.Sink.Items(OtlpSignal.Metrics));
        Assert.Equal(logs + 3, Harness.Sink.Items(OtlpSignal.Logs));
    }

    [Theory]
    [InlineData("gzip", Protobuf)]
    [InlineData("deflate", Protobuf)]
    [InlineData("gzip", Json)]
    public async Task Compressed_bodies_are_inflated(string encoding, string contentType)
    {
        long before = Harness.Sink.Items(OtlpSignal.Traces);
        byte[] payload = OtlpTestData.Traces(11);
        if (contentType == Json)
        {
            payload = OtlpTestData.Json(payload, OtlpSignal.Traces);
        }

        byte[] body = encoding == "gzip" ? OtlpTestData.Gzip(payload) : OtlpTestData.Deflate(payload);
        using var request = ReceiverHarness.HttpPost(Harness.HttpUri("/v1/traces"), body, contentType, encoding);

        using HttpResponseMessage response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(before + 11, Harness.Sink.Items(OtlpSignal.Traces));
    }

    [Theory]
    [InlineData(Protobuf)]
    [InlineData(Json)]
    public async Task An_empty_body_is_a_valid_empty_request(string contentType)
    {
        using var request = ReceiverHarness.HttpPost(Harness.HttpUri("/v1/traces"), [], contentType);

        using HttpResponseMessage response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Malformed_protobuf_is_400_with_a_protobuf_status()
    {
        long refused = Harness.Receiver.Counters.Refused(ReceiveFailure.MalformedPayload);
        byte[] garbage = [0x0A, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]; // field 1, length far beyond the message

        using var request = ReceiverHarness.HttpPost(Harness.HttpUri("/v1/traces"), garbage, Protobuf);
        using HttpResponseMessage response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(Protobuf, response.Content.Headers.ContentType?.MediaType);
        var status = Google.Rpc.Status.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(GrpcCodes.InvalidArgument, status.Code);
        Assert.False(string.IsNullOrEmpty(status.Message));
        Assert.Equal(refused + 1, Harness.Receiver.Counters.Refused(ReceiveFailure.MalformedPayload));
    }

    [Fact]
    public async Task Malformed_json_is_400_with_a_json_status()
    {
        using var request = ReceiverHarness.HttpPost(Harness.HttpUri("/v1/traces"), "{\"resourceSpans\": [ {"u8.ToArray(), Json);
        using HttpResponseMessage response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(Json, response.Content.Headers.ContentType?.MediaType);
        var status = Google.Protobuf.JsonParser.Default.Parse<Google.Rpc.Status>(await response.Content.ReadAsStringAsync());
        Assert.Equal(GrpcCodes.InvalidArgument, status.Code);
    }

    [Fact]
    public async Task Content_length_over_the_limit_is_413()
    {
        using var request = ReceiverHarness.HttpPost(Harness.HttpUri("/v1/traces"), new byte[(1024 * 1024) + 1], Protobuf);

        using HttpResponseMessage response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(GrpcCodes.ResourceExhausted, Google.Rpc.Status.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync()).Code);
    }

    [Fact]
    public async Task A_chunked_body_over_the_limit_is_413()
    {
        byte[] chunk = new byte[64 * 1024];
        var content = new System.Net.Http.StreamContent(new ChunkedStream(chunk, count: 20)); // 1.25 MiB, no Content-Length
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(Protobuf);
        using var request = new HttpRequestMessage(HttpMethod.Post, Harness.HttpUri("/v1/traces"))
        {
            Content = content,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using HttpResponseMessage response = await Client.SendAsync(request);

        Assert.Null(request.Content.Headers.ContentLength);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task A_gzip_bomb_stops_at_the_limit_and_the_server_keeps_serving()
    {
        byte[] bomb = OtlpTestData.GzipBomb(10 * 1024 * 1024);
        Assert.True(bomb.Length < 1024 * 1024); // small enough to pass every compressed-size check
        using var bombRequest = ReceiverHarness.HttpPost(Harness.HttpUri("/v1/traces"), bomb, Protobuf, "gzip");

        using HttpResponseMessage bombResponse = await Client.SendAsync(bombRequest);
        using var next = ReceiverHarness.HttpPost(Harness.HttpUri("/v1/traces"), OtlpTestData.Traces(1), Protobuf);
        using HttpResponseMessage nextResponse = await Client.SendAsync(next);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, bombResponse.StatusCode);
        Assert.Contains("decompressed", Google.Rpc.Status.Parser.ParseFrom(await bombResponse.Content.ReadAsByteArrayAsync()).Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, nextResponse.StatusCode);
    }

    [Fact]
    public async Task Unknown_content_type_and_encoding_are_415()
    {
        using var typeRequest = ReceiverHarness.HttpPost(Harness.HttpUri("/v1/traces"), OtlpTestData.Traces(1), "text/plain");
        using HttpResponseMessage typeResponse = await Client.SendAsync(typeRequest);
        using var encodingRequest = ReceiverHarness.HttpPost(Harness.HttpUri("/v1/traces"), OtlpTestData.Traces(1), Protobuf, "br");
        using HttpResponseMessage encodingResponse = await Client.SendAsync(encodingRequest);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, typeResponse.StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, encodingResponse.StatusCode);
        Assert.Contains("Content-Encoding", Google.Rpc.Status.Parser.ParseFrom(await encodingResponse.Content.ReadAsByteArrayAsync()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_method_is_405_with_allow_and_unknown_path_is_404()
    {
        using var get = new HttpRequestMessage(HttpMethod.Get, Harness.HttpUri("/v1/traces")) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using HttpResponseMessage getResponse = await Client.SendAsync(get);
        using var unknown = ReceiverHarness.HttpPost(Harness.HttpUri("/v1/spans"), OtlpTestData.Traces(1), Protobuf);
        using HttpResponseMessage unknownResponse = await Client.SendAsync(unknown);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, getResponse.StatusCode);
        Assert.Equal("POST", string.Join(",", getResponse.Content.Headers.Allow));
        Assert.Equal(HttpStatusCode.NotFound, unknownResponse.StatusCode);
    }

    [Fact]
    public async Task Sink_refusal_is_503_with_retry_after_and_a_retry_info()
    {
        Harness.Sink.Behavior = (_, _) => ValueTask.FromResult(SinkResult.Refuse(TimeSpan.FromSeconds(7), "memory limit"));
        try
        {
            using var request = ReceiverHarness.HttpPost(Harness.HttpUri("/v1/traces"), OtlpTestData.Traces(2), Protobuf);
            using HttpResponseMessage response = await Client.SendAsync(request);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
            var status = Google.Rpc.Status.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
            Assert.Equal(GrpcCodes.Unavailable, status.Code);
            Assert.Equal(TimeSpan.FromSeconds(7), status.Details.Single().Unpack<Google.Rpc.RetryInfo>().RetryDelay.ToTimeSpan());
        }
        finally
        {
            Harness.Sink.Behavior = null;
        }
    }

    /// <summary>A body of unknown length, so HttpClient sends it chunked (HTTP/1.1) or without content-length (HTTP/2).</summary>
    private sealed class ChunkedStream(byte[] chunk, int count) : Stream
    {
        private int _left = count;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_left == 0)
            {
                return 0;
            }

            _left--;
            int n = Math.Min(count, chunk.Length);
            Array.Copy(chunk, 0, buffer, offset, n);
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
