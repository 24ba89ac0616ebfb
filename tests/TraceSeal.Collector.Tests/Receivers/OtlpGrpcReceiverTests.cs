using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.Receivers;

public sealed class OtlpGrpcReceiverTests(MtlsReceiverFixture fixture) : IClassFixture<MtlsReceiverFixture>
{
    private const string TraceExport = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

    private ReceiverHarness Harness => fixture.Harness;

    private HttpClient Client => fixture.Client;

    [Fact]
    public async Task An_export_is_accepted_and_answered_with_a_framed_response_and_status_trailer()
    {
        long before = Harness.Sink.Items(OtlpSignal.Traces);
        using var request = ReceiverHarness.GrpcPost(Harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(OtlpTestData.Traces(9)));

        GrpcResult result = await ReceiverHarness.SendGrpcAsync(Client, request);

        Assert.Equal(200, result.HttpStatus);
        Assert.Equal(GrpcCodes.Ok, result.GrpcStatus);
        Assert.Equal(0, result.Body[0]);
        Assert.Equal(result.Body.Length - 5, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(result.Body.AsSpan(1)));
        OpenTelemetry.Proto.Collector.Trace.V1.ExportTraceServiceResponse.Parser.ParseFrom(result.Body.AsSpan(5).ToArray());
        Assert.Equal(before + 9, Harness.Sink.Items(OtlpSignal.Traces));
    }

    [Fact]
    public async Task Metrics_and_logs_services_are_served_and_gzip_frames_are_inflated()
    {
        long metrics = Harness.Sink.Items(OtlpSignal.Metrics);
        long logs = Harness.Sink.Items(OtlpSignal.Logs);
        using var metricsRequest = ReceiverHarness.GrpcPost(Harness.GrpcUri("/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"), OtlpTestData.GrpcFrame(OtlpTestData.Gzip(OtlpTestData.Metrics(4)), compressed: true), grpcEncoding: "gzip", contentType: "application/grpc+proto");
        using var logsRequest = ReceiverHarness.GrpcPost(Harness.GrpcUri("/opentelemetry.proto.collector.logs.v1.LogsService/Export"), OtlpTestData.GrpcFrame(OtlpTestData.Logs(6)));

        GrpcResult metricsResult = await ReceiverHarness.SendGrpcAsync(Client, metricsRequest);
        GrpcResult logsResult = await ReceiverHarness.SendGrpcAsync(Client, logsRequest);

        Assert.Equal(GrpcCodes.Ok, metricsResult.GrpcStatus);
        Assert.Equal(GrpcCodes.Ok, logsResult.GrpcStatus);
        Assert.Equal(metrics + 4, Harness.Sink.Items(OtlpSignal.Metrics));
        Assert.Equal(logs + 6, Harness.Sink.Items(OtlpSignal.Logs));
    }

    [Fact]
    public async Task Unknown_method_and_unknown_encoding_are_unimplemented()
    {
        using var method = ReceiverHarness.GrpcPost(Harness.GrpcUri("/opentelemetry.proto.collector.trace.v1.TraceService/Query"), OtlpTestData.GrpcFrame(OtlpTestData.Traces(1)));
        using var encoding = ReceiverHarness.GrpcPost(Harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(OtlpTestData.Traces(1), compressed: true), grpcEncoding: "snappy");

        GrpcResult methodResult = await ReceiverHarness.SendGrpcAsync(Client, method);
        GrpcResult encodingResult = await ReceiverHarness.SendGrpcAsync(Client, encoding);

        Assert.Equal(GrpcCodes.Unimplemented, methodResult.GrpcStatus);
        Assert.Equal(GrpcCodes.Unimplemented, encodingResult.GrpcStatus);
        Assert.Equal("identity,gzip", encodingResult.AcceptEncoding);
    }

    [Fact]
    public async Task A_malformed_message_is_invalid_argument_with_status_details()
    {
        using var request = ReceiverHarness.GrpcPost(Harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame([0x0A, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]));

        GrpcResult result = await ReceiverHarness.SendGrpcAsync(Client, request);

        Assert.Equal(GrpcCodes.InvalidArgument, result.GrpcStatus);
        Assert.NotNull(result.Details);
        Assert.Equal(GrpcCodes.InvalidArgument, result.Details!.Code);
        Assert.False(string.IsNullOrEmpty(result.GrpcMessage));
    }

    [Fact]
    public async Task An_oversized_frame_is_refused_from_its_prefix()
    {
        // Declares 2 MiB but sends 10 bytes: the prefix alone must trigger the refusal.
        using var request = ReceiverHarness.GrpcPost(Harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(new byte[10], declaredLength: 2 * 1024 * 1024));

        GrpcResult result = await ReceiverHarness.SendGrpcAsync(Client, request);

        Assert.Equal(GrpcCodes.ResourceExhausted, result.GrpcStatus);
    }

    [Fact]
    public async Task A_gzip_bomb_is_resource_exhausted_and_the_next_call_succeeds()
    {
        using var bomb = ReceiverHarness.GrpcPost(Harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(OtlpTestData.GzipBomb(10 * 1024 * 1024), compressed: true), grpcEncoding: "gzip");
        using var next = ReceiverHarness.GrpcPost(Harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(OtlpTestData.Traces(1)));

        GrpcResult bombResult = await ReceiverHarness.SendGrpcAsync(Client, bomb);
        GrpcResult nextResult = await ReceiverHarness.SendGrpcAsync(Client, next);

        Assert.Equal(GrpcCodes.ResourceExhausted, bombResult.GrpcStatus);
        Assert.Equal(GrpcCodes.Ok, nextResult.GrpcStatus);
    }

    [Fact]
    public async Task Sink_refusal_is_unavailable_with_retry_info()
    {
        Harness.Sink.Behavior = (_, _) => ValueTask.FromResult(SinkResult.Refuse(TimeSpan.FromSeconds(3), "wal backlog"));
        try
        {
            using var request = ReceiverHarness.GrpcPost(Harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(OtlpTestData.Traces(2)));

            GrpcResult result = await ReceiverHarness.SendGrpcAsync(Client, request);

            Assert.Equal(GrpcCodes.Unavailable, result.GrpcStatus);
            Assert.Equal("wal backlog", result.GrpcMessage);
            Assert.Equal(TimeSpan.FromSeconds(3), result.Details!.Details.Single().Unpack<Google.Rpc.RetryInfo>().RetryDelay.ToTimeSpan());
        }
        finally
        {
            Harness.Sink.Behavior = null;
        }
    }

    [Fact]
    public async Task Grpc_timeout_is_honoured_with_deadline_exceeded()
    {
        // The sink blocks until the request's token fires: only the grpc-timeout can end the call.
        Harness.Sink.Behavior = async (_, token) =>
        {
            await Task.Delay(System.Threading.Timeout.Infinite, token);
            return SinkResult.Ok;
        };
        try
        {
            using var request = ReceiverHarness.GrpcPost(Harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(OtlpTestData.Traces(1)), timeout: "200m");

            GrpcResult result = await ReceiverHarness.SendGrpcAsync(Client, request);

            Assert.Equal(GrpcCodes.DeadlineExceeded, result.GrpcStatus);
            Assert.True(Harness.Receiver.Counters.Refused(ReceiveFailure.DeadlineExceeded) >= 1);
        }
        finally
        {
            Harness.Sink.Behavior = null;
        }
    }

    [Fact]
    public async Task A_non_grpc_content_type_is_http_415()
    {
        using var request = ReceiverHarness.GrpcPost(Harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(OtlpTestData.Traces(1)), contentType: "application/json");

        GrpcResult result = await ReceiverHarness.SendGrpcAsync(Client, request);

        Assert.Equal(415, result.HttpStatus);
    }
}
