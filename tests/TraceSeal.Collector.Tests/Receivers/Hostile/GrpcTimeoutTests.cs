using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.Receivers.Hostile;

/// <summary>
/// Issue 14: `grpc-timeout: 99999999H` made every request a 500 with an Error-level stack trace. A huge deadline is
/// capped and the call succeeds; a malformed one is INVALID_ARGUMENT; neither leaves anything above Debug in the log.
/// </summary>
public sealed class GrpcTimeoutTests : IAsyncLifetime
{
    private const string TraceExport = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

    private readonly ReceiverTestPki _pki = new();
    private readonly CapturingLoggerProvider _logs = new();
    private ILoggerFactory _loggers = null!;
    private ReceiverHarness _harness = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(_logs));
        _harness = await ReceiverHarness.StartAsync(_pki, loggerFactory: _loggers);
        _client = _harness.CreateClient(_pki.Client.Certificate);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _harness.DisposeAsync();
        _loggers.Dispose();
        _pki.Dispose();
    }

    [Theory]
    [InlineData("99999999H")]
    [InlineData("5000000S")]
    [InlineData("99999999M")]
    public async Task a_huge_grpc_timeout_is_capped_and_the_call_succeeds(string timeout)
    {
        GrpcResult result = await ReceiverHarness.SendGrpcAsync(_client, ReceiverHarness.GrpcPost(_harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(OtlpTestData.Traces(3)), timeout: timeout));

        Assert.Equal((200, GrpcCodes.Ok), (result.HttpStatus, result.GrpcStatus));
        Assert.Equal(3, _harness.Sink.Items(OtlpSignal.Traces));
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
        GrpcResult result = await ReceiverHarness.SendGrpcAsync(_client, ReceiverHarness.GrpcPost(_harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(OtlpTestData.Traces(3)), timeout: timeout));

        Assert.Equal((200, GrpcCodes.InvalidArgument), (result.HttpStatus, result.GrpcStatus));
        Assert.StartsWith("malformed grpc-timeout", Uri.UnescapeDataString(result.GrpcMessage!), StringComparison.Ordinal);
        Assert.Equal(0, _harness.Sink.Items(OtlpSignal.Traces));
        Assert.Equal(1, _harness.Receiver.Counters.Refused(ReceiveFailure.MalformedHeader));
        AssertNothingAboveDebug();
    }

    [Fact]
    public async Task two_hundred_huge_timeouts_in_a_row_log_nothing_above_debug_and_all_succeed()
    {
        // The measurement: 200 requests in 0.4 s gave 200 Error lines. Sequential, 20 at a time.
        int ok = 0;
        for (int batch = 0; batch < 10; batch++)
        {
            GrpcResult[] results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
                ReceiverHarness.SendGrpcAsync(_client, ReceiverHarness.GrpcPost(_harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(OtlpTestData.Traces(1)), timeout: "99999999H"))));
            ok += results.Count(r => r.GrpcStatus == GrpcCodes.Ok);
        }

        Assert.Equal(200, ok);
        Assert.Equal(200, _harness.Sink.Items(OtlpSignal.Traces));
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
        Assert.Empty(_logs.Messages.Where(m => m.Level >= LogLevel.Warning
            || (m.Level > LogLevel.Debug && !m.Text.StartsWith("Request ", StringComparison.Ordinal) && !m.Text.Contains("listening on", StringComparison.Ordinal) && !m.Text.Contains("TLS material loaded", StringComparison.Ordinal)))
            .Select(m => $"{m.Level}: {m.Text}"));
        Assert.Empty(_logs.Exceptions);
    }
}
