using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.Receivers.Hostile;

/// <summary>
/// Issue 14: `grpc-timeout: 99999999H` made every request a 500 with an Error-level stack trace. A huge deadline is
/// capped and the call succeeds; a malformed one is INVALID_ARGUMENT; neither leaves anything above Debug in the log.
/// </summary>
public sealed class GrpcTimeoutTests(MtlsReceiverFixture fixture) : IClassFixture<MtlsReceiverFixture>
{
    private const string TraceExport = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

    private ReceiverHarness Harness => fixture.Harness;

    private HttpClient Client => fixture.Client;

    [Theory]
    [InlineData("99999999H")]
    [InlineData("5000000S")]
    [InlineData("99999999M")]
    public async Task a_huge_grpc_timeout_is_capped_and_the_call_succeeds(string timeout)
    {
        long before = Harness.Sink.Items(OtlpSignal.Traces);

        GrpcResult result = await ReceiverHarness.SendGrpcAsync(Client, ReceiverHarness.GrpcPost(Harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(OtlpTestData.Traces(3)), timeout: timeout));

        Assert.Equal((200, GrpcCodes.Ok), (result.HttpStatus, result.GrpcStatus));
        Assert.Equal(3, Harness.Sink.Items(OtlpSignal.Traces) - before);
        AssertNothingAboveDebug();
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("10")] // no unit
    [InlineData("10x")] // unknown unit
    [InlineData("123456789S")] // nine digits: the spec allows eight
    [InlineData("-5S")]
    [InlineData("1 S")]
    public async Task a_malformed_grpc_timeout_is_invalid_argument_not_a_500(string timeout)
    {
        long refusedBefore = Harness.Receiver.Counters.Refused(ReceiveFailure.MalformedHeader);

        GrpcResult result = await ReceiverHarness.SendGrpcAsync(Client, ReceiverHarness.GrpcPost(Harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(OtlpTestData.Traces(3)), timeout: timeout));

        Assert.Equal((200, GrpcCodes.InvalidArgument), (result.HttpStatus, result.GrpcStatus));
        Assert.StartsWith("malformed grpc-timeout", Uri.UnescapeDataString(result.GrpcMessage!), StringComparison.Ordinal);
        Assert.Equal(1, Harness.Receiver.Counters.Refused(ReceiveFailure.MalformedHeader) - refusedBefore);
        AssertNothingAboveDebug();
    }

    [Fact]
    public async Task two_hundred_huge_timeouts_in_a_row_log_nothing_above_debug_and_all_succeed()
    {
        // The measurement: 200 requests in 0.4 s gave 200 Error lines. Sequential, 20 at a time.
        long before = Harness.Sink.Items(OtlpSignal.Traces);
        int ok = 0;
        for (int batch = 0; batch < 10; batch++)
        {
            GrpcResult[] results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
                ReceiverHarness.SendGrpcAsync(Client, ReceiverHarness.GrpcPost(Harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(OtlpTestData.Traces(1)), timeout: "99999999H"))));
            ok += results.Count(r => r.GrpcStatus == GrpcCodes.Ok);
        }

        Assert.Equal(200, ok);
        Assert.Equal(200, Harness.Sink.Items(OtlpSignal.Traces) - before);
        AssertNothingAboveDebug();
    }

    [Theory]
    [InlineData("99999999H", 5 * 60 * 1000)]
    [InlineData("1H", 5 * 60 * 1000)]
    [InlineData("4M", 4 * 60 * 1000)]
    [InlineData("250m", 250)]
    [InlineData("1500u", 1.5)]
    [InlineData("99999999n", 99.9999)]
    public void grpc_timeout_parses_and_caps_at_five_minutes(string text, double milliseconds)
    {
        Assert.True(GrpcWire.TryParseTimeout(text, out TimeSpan timeout));
        Assert.Equal(milliseconds, timeout.TotalMilliseconds, precision: 4);
        Assert.True(timeout <= GrpcWire.MaxTimeout);
    }

    private void AssertNothingAboveDebug()
    {
        // ASP.NET Core's per-request "Request starting/finished" lines are Information in category Microsoft.*,
        // which the collector's logging (CollectorLogging) raises to Warning; nothing of ours is above Debug.
        Assert.Empty(fixture.Logs.Messages.Where(m => m.Level >= LogLevel.Warning
            || (m.Level > LogLevel.Debug && !m.Text.StartsWith("Request ", StringComparison.Ordinal) && !m.Text.Contains("listening on", StringComparison.Ordinal) && !m.Text.Contains("TLS material loaded", StringComparison.Ordinal)))
            .Select(m => $"{m.Level}: {m.Text}"));
        Assert.Empty(fixture.Logs.Exceptions);
    }
}
