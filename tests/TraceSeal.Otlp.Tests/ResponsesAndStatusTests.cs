using Google.Protobuf;
using Google.Rpc;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace TraceSeal.Otlp.Tests;

public class ResponsesAndStatusTests
{
    [Fact]
    public void Full_success_is_empty_protobuf_and_empty_json_object()
    {
        foreach (OtlpSignal signal in Enum.GetValues<OtlpSignal>())
        {
            Assert.True(OtlpResponses.Protobuf(signal).IsEmpty);
            Assert.Equal("{}", System.Text.Encoding.UTF8.GetString(OtlpResponses.Json(signal).Span));
        }
    }

    [Fact]
    public void Partial_success_carries_count_and_message()
    {
        var traces = ExportTraceServiceResponse.Parser.ParseFrom(OtlpResponses.Protobuf(OtlpSignal.Traces, 3, "3 spans too old").Span);
        Assert.Equal(3, traces.PartialSuccess.RejectedSpans);
        Assert.Equal("3 spans too old", traces.PartialSuccess.ErrorMessage);

        var logs = ExportLogsServiceResponse.Parser.ParseFrom(OtlpResponses.Protobuf(OtlpSignal.Logs, 2).Span);
        Assert.Equal(2, logs.PartialSuccess.RejectedLogRecords);

        string json = System.Text.Encoding.UTF8.GetString(OtlpResponses.Json(OtlpSignal.Metrics, 5, "x").Span);
        Assert.Equal("""{ "partialSuccess": { "rejectedDataPoints": "5", "errorMessage": "x" } }""", json);
    }

    [Fact]
    public void Status_protobuf_parses_back_with_retry_info()
    {
        byte[] bytes = RpcStatus.ToProtobuf(GrpcCodes.Unavailable, "memory limit reached, retry later", TimeSpan.FromMilliseconds(1500));

        var status = Google.Rpc.Status.Parser.ParseFrom(bytes);
        Assert.Equal(14, status.Code);
        Assert.Equal("memory limit reached, retry later", status.Message);
        var retry = Assert.Single(status.Details).Unpack<RetryInfo>();
        Assert.Equal(TimeSpan.FromMilliseconds(1500), retry.RetryDelay.ToTimeSpan());
    }

    [Fact]
    public void Status_without_delay_has_no_details()
        => Assert.Empty(Google.Rpc.Status.Parser.ParseFrom(RpcStatus.ToProtobuf(GrpcCodes.InvalidArgument, "bad")).Details);

    [Fact]
    public void Status_json_names_the_retry_info_type()
    {
        string json = System.Text.Encoding.UTF8.GetString(RpcStatus.ToJson(GrpcCodes.ResourceExhausted, "slow down", TimeSpan.FromSeconds(2)));

        Assert.Contains("\"code\": 8", json);
        Assert.Contains("\"@type\": \"type.googleapis.com/google.rpc.RetryInfo\"", json);
        Assert.Contains("\"retryDelay\": \"2s\"", json);
    }

    [Fact]
    public void Grpc_codes_match_the_grpc_spec()
    {
        Assert.Equal(3, GrpcCodes.InvalidArgument);
        Assert.Equal(8, GrpcCodes.ResourceExhausted);
        Assert.Equal(14, GrpcCodes.Unavailable);
        Assert.Equal(16, GrpcCodes.Unauthenticated);
    }
}
