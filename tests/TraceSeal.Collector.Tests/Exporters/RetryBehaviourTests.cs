using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.Exporters;

/// <summary>retry_on_failure against a TLS upstream that answers with scripted statuses (attempts counted there).</summary>
public sealed class RetryBehaviourTests : IAsyncLifetime
{
    private readonly ReceiverTestPki _pki = new();
    private readonly CapturingLoggerProvider _logs = new();
    private readonly ILoggerFactory _loggers;
    private ScriptedUpstream _upstream = null!;

    public RetryBehaviourTests() => _loggers = LoggerFactory.Create(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Debug));

    public async Task InitializeAsync() => _upstream = await ScriptedUpstream.StartAsync(_pki);

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _loggers.Dispose();
        _pki.Dispose();
    }

    [Fact]
    public async Task Http_503_with_retry_after_zero_twice_then_200_is_delivered_on_the_third_attempt()
    {
        _upstream.Enqueue(ScriptedUpstream.Http(503, retryAfter: "0"), ScriptedUpstream.Http(503, retryAfter: "0"));
        await using var exporter = Create(OtlpExporterProtocol.Http);

        SinkResult result = await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, 10);

        Assert.True(result.Accepted);
        Assert.Equal(3, _upstream.Requests);
        Assert.Equal(3, exporter.Counters.Attempts);
        Assert.Equal(20, exporter.Counters.Retried);
        Assert.Equal(10, exporter.Counters.Sent);
        Assert.Equal(0, exporter.Counters.Failed);
    }

    [Theory]
    [InlineData(GrpcCodes.Unavailable)]
    [InlineData(GrpcCodes.ResourceExhausted)] // retryable only because RetryInfo is present
    public async Task Grpc_retryable_status_with_retry_info_twice_then_ok_is_delivered_on_the_third_attempt(int code)
    {
        byte[] details = RpcStatus.ToProtobuf(code, "busy", TimeSpan.Zero);
        _upstream.Enqueue(ScriptedUpstream.Grpc(code, details), ScriptedUpstream.Grpc(code, details));
        _upstream.Default = ScriptedUpstream.Grpc(GrpcCodes.Ok);
        await using var exporter = Create(OtlpExporterProtocol.Grpc);

        Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Logs, 4)).Accepted);
        Assert.Equal(3, _upstream.Requests);
        Assert.Equal(8, exporter.Counters.Retried);
        Assert.Equal(4, exporter.Counters.Sent);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(413)]
    public async Task Http_400_and_413_are_not_retried_the_batch_is_dropped_with_an_error(int status)
    {
        _upstream.Default = ScriptedUpstream.Http(status);
        await using var exporter = Create(OtlpExporterProtocol.Http);

        SinkResult result = await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, 6);

        Assert.True(result.Accepted); // dropped: a retry, by us or by the client, would be refused again
        Assert.Equal(1, _upstream.Requests);
        Assert.Equal(6, exporter.Counters.Failed);
        Assert.Equal(0, exporter.Counters.Retried);
        Assert.False(exporter.IsFailing);
        Assert.Contains(_logs.Messages, m => m.Level == LogLevel.Error && m.Text == $"exporter otlphttp: upstream refused traces permanently (HTTP {status}: ); 6 item(s) dropped, retrying cannot help");
    }

    [Fact]
    public async Task Grpc_resource_exhausted_without_retry_info_is_not_retried()
    {
        _upstream.Default = ScriptedUpstream.Grpc(GrpcCodes.ResourceExhausted);
        await using var exporter = Create(OtlpExporterProtocol.Grpc);

        Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Metrics, 3)).Accepted);
        Assert.Equal(1, _upstream.Requests);
        Assert.Equal(3, exporter.Counters.Failed);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Partial_success_is_final_and_the_rejected_count_is_logged(bool grpc)
    {
        OtlpExporterProtocol protocol = grpc ? OtlpExporterProtocol.Grpc : OtlpExporterProtocol.Http;
        byte[] partial = OtlpResponses.Protobuf(OtlpSignal.Traces, rejectedItems: 2, errorMessage: "2 spans too old").ToArray();
        _upstream.Default = protocol == OtlpExporterProtocol.Http ? ScriptedUpstream.Http(200, body: partial) : ScriptedUpstream.Grpc(GrpcCodes.Ok, message: partial);
        await using var exporter = Create(protocol);

        Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, 10)).Accepted);
        Assert.Equal(1, _upstream.Requests);
        Assert.Equal(8, exporter.Counters.Sent);
        Assert.Equal(2, exporter.Counters.Failed);
        Assert.Contains(_logs.Messages, m => m.Level == LogLevel.Warning && m.Text.EndsWith("accepted traces partially: 2 item(s) rejected: 2 spans too old", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_server_delay_beyond_the_budget_hands_the_batch_back_to_the_client_without_retrying_early(bool grpc)
    {
        OtlpExporterProtocol protocol = grpc ? OtlpExporterProtocol.Grpc : OtlpExporterProtocol.Http;
        _upstream.Default = protocol == OtlpExporterProtocol.Http
            ? ScriptedUpstream.Http(503, retryAfter: "10")
            : ScriptedUpstream.Grpc(GrpcCodes.Unavailable, RpcStatus.ToProtobuf(GrpcCodes.Unavailable, "busy", TimeSpan.FromSeconds(10)));
        await using var exporter = Create(protocol, ExporterTestSupport.FastRetry(TimeSpan.FromSeconds(2)));

        SinkResult result = await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, 5);

        Assert.False(result.Accepted);
        Assert.Equal(TimeSpan.FromSeconds(5), result.RetryAfter);
        Assert.Equal(1, _upstream.Requests);
        Assert.True(exporter.IsFailing);
    }

    [Fact]
    public async Task An_upstream_that_stays_unavailable_exhausts_the_budget_and_the_client_is_told_to_retry()
    {
        _upstream.Default = ScriptedUpstream.Http(503);
        // Generous for a loaded machine (the first attempt includes the TLS handshake); 5–20 ms between attempts.
        await using var exporter = Create(OtlpExporterProtocol.Http, ExporterTestSupport.FastRetry(TimeSpan.FromMilliseconds(600)));

        SinkResult result = await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, 5);

        Assert.False(result.Accepted);
        Assert.True(result.Retryable);
        Assert.Equal("upstream unavailable", result.Reason);
        Assert.True(_upstream.Requests > 1, $"{_upstream.Requests} attempt(s)");
        Assert.True(exporter.Counters.Retried >= 5 * (exporter.Counters.Attempts - 1));
        Assert.Equal(5, exporter.Counters.Failed);
        Assert.True(exporter.IsFailing);

        // Upstream back: the next export succeeds and the exporter is healthy again.
        _upstream.Default = ScriptedUpstream.Http(200);
        Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, 5)).Accepted);
        Assert.False(exporter.IsFailing);
    }

    [Fact]
    public async Task With_retry_disabled_one_failure_is_handed_back_to_the_client()
    {
        _upstream.Default = ScriptedUpstream.Http(503, retryAfter: "0");
        await using var exporter = Create(OtlpExporterProtocol.Http, new RetrySettings { Enabled = false });

        Assert.False((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, 5)).Accepted);
        Assert.Equal(1, _upstream.Requests);
    }

    [Fact]
    public async Task Connection_refused_is_retried_then_handed_back()
    {
        int closedPort;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            closedPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var settings = ExporterTestSupport.Settings(OtlpExporterProtocol.Grpc, $"127.0.0.1:{closedPort}", new TlsClientSettings { CaFile = _pki.CaPath }, retry: ExporterTestSupport.FastRetry(TimeSpan.FromMilliseconds(600)));
        await using var exporter = ExporterTestSupport.Create(settings, _loggers);

        Assert.False((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, 1)).Accepted);
        Assert.True(exporter.Counters.Attempts > 1);
        // The hand-back names the outage; which attempt's reason it quotes depends on timing (the last attempt may
        // be cut by the budget), so the refusal itself is asserted on the attempt lines.
        Assert.True(_logs.Messages.Any(m => m.Level == LogLevel.Warning && m.Text.Contains("upstream unavailable for traces", StringComparison.Ordinal)), string.Join("\n", _logs.Messages.Select(m => m.Text)));
        Assert.True(_logs.Messages.Any(m => m.Text.Contains("Connection refused", StringComparison.OrdinalIgnoreCase)), string.Join("\n", _logs.Messages.Select(m => m.Text)));
    }

    private OtlpForwardingExporter Create(OtlpExporterProtocol protocol, RetrySettings? retry = null)
    {
        string endpoint = protocol == OtlpExporterProtocol.Grpc ? $"127.0.0.1:{_upstream.Port}" : $"https://127.0.0.1:{_upstream.Port}";
        return ExporterTestSupport.Create(ExporterTestSupport.Settings(protocol, endpoint, new TlsClientSettings { CaFile = _pki.CaPath }, retry: retry), _loggers);
    }
}
