using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Exporters.Discard;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Telemetry;
using TraceSeal.Collector.Tests.Exporters;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Collector.Tests.Telemetry;

/// <summary>/metrics, /healthz and /readyz over a real receiver that saw traffic from a real forwarding exporter.</summary>
public sealed class TelemetryServerTests : IAsyncLifetime
{
    private readonly ReceiverTestPki _pki = new();
    private readonly HttpClient _http = new();
    private ReceiverHarness _receiver = null!;

    public async Task InitializeAsync() => _receiver = await ReceiverHarness.StartAsync(_pki);

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _receiver.DisposeAsync();
        _pki.Dispose();
    }

    [Fact]
    public async Task Metrics_show_receiver_exporter_tls_and_discard_counters_after_traffic()
    {
        await using var forwarding = ExporterTestSupport.Create(ExporterTestSupport.Settings(
            OtlpExporterProtocol.Grpc, $"127.0.0.1:{_receiver.Receiver.GrpcEndpoint!.Port}", ExporterTestSupport.MutualTls(_pki)));
        var discard = new DiscardExporter("discard");
        Assert.True((await ExporterTestSupport.ExportAsync(forwarding, OtlpSignal.Traces, 7)).Accepted);
        await discard.ExportAsync(ExporterTestSupport.Batch(OtlpSignal.Logs, 4), CancellationToken.None);

        // A malformed request (refused) and a client without a certificate (handshake failure).
        using (HttpClient mtls = _receiver.CreateClient(_pki.Client.Certificate))
        using (var malformed = ReceiverHarness.HttpPost(_receiver.HttpUri("/v1/traces"), [0xFF, 0xFF], "application/x-protobuf"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await mtls.SendAsync(malformed)).StatusCode);
        }

        using (HttpClient anonymous = _receiver.CreateClient(null))
        using (var request = ReceiverHarness.HttpPost(_receiver.HttpUri("/v1/traces"), OtlpTestData.Traces(1), "application/x-protobuf"))
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => anonymous.SendAsync(request));
        }

        await Eventually.TrueAsync(() => _receiver.Receiver.Counters.HandshakeFailed("no_client_certificate") == 1, "the handshake failure to be counted");
        await using TelemetryServer server = await StartAsync(forwarding, discard);

        string metrics = await _http.GetStringAsync(Uri(server, "/metrics"));

        Assert.Contains("# TYPE traceseal_receiver_requests_total counter\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_receiver_requests_total{receiver=\"otlp\",protocol=\"all\",outcome=\"accepted\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_receiver_requests_total{receiver=\"otlp\",protocol=\"all\",outcome=\"refused\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_receiver_items_accepted_total{receiver=\"otlp\",protocol=\"all\"} 7\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_receiver_refused_total{receiver=\"otlp\",protocol=\"all\",reason=\"malformed_payload\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_tls_handshake_failures_total{receiver=\"otlp\",protocol=\"all\",reason=\"no_client_certificate\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("# TYPE traceseal_receiver_connections_closed_total counter\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_receiver_connections_closed_total{receiver=\"otlp\",protocol=\"all\",reason=\"max_connections_per_address\"} 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_receiver_connections_closed_total{receiver=\"otlp\",protocol=\"all\",reason=\"http2_control_frame_flood\"} 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_receiver_requests_failed_total{receiver=\"otlp\",protocol=\"all\"} 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_exporter_items_total{exporter=\"otlp\",outcome=\"sent\"} 7\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_exporter_items_total{exporter=\"otlp\",outcome=\"failed\"} 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_exporter_items_total{exporter=\"otlp\",outcome=\"retried\"} 0\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_discard_items_total{exporter=\"discard\",signal=\"logs\"} 4\n", metrics, StringComparison.Ordinal);
        foreach (string protocol in (string[])["grpc", "http"])
        {
            string prefix = $"traceseal_tls_certificate_expiry_seconds{{receiver=\"otlp\",protocol=\"{protocol}\"}} ";
            string line = metrics.Split('\n').Single(l => l.StartsWith(prefix, StringComparison.Ordinal));
            double seconds = double.Parse(line[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(seconds, TimeSpan.FromDays(364).TotalSeconds, TimeSpan.FromDays(366).TotalSeconds); // DevPki leaf: one year
        }
    }

    [Fact]
    public async Task Healthz_is_ok_once_started_and_readyz_follows_the_exporters()
    {
        int closedPort = ClosedPort();
        var down = ExporterTestSupport.Settings(OtlpExporterProtocol.Http, $"https://127.0.0.1:{closedPort}", new TlsClientSettings { CaFile = _pki.CaPath }, retry: ExporterTestSupport.FastRetry(TimeSpan.FromMilliseconds(50)));
        await using var exporter = ExporterTestSupport.Create(down);
        await using TelemetryServer server = await StartAsync(exporter);

        using HttpResponseMessage health = await _http.GetAsync(Uri(server, "/healthz"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("ok\n", await health.Content.ReadAsStringAsync());
        using (HttpResponseMessage ready = await _http.GetAsync(Uri(server, "/readyz")))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        Assert.False((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, 3)).Accepted);

        using HttpResponseMessage notReady = await _http.GetAsync(Uri(server, "/readyz"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Equal("exporter otlphttp is failing: upstream unavailable\n", await notReady.Content.ReadAsStringAsync());
        Assert.Contains("traceseal_exporter_items_total{exporter=\"otlphttp\",outcome=\"failed\"} 3\n", await _http.GetStringAsync(Uri(server, "/metrics")), StringComparison.Ordinal);
        using HttpResponseMessage unknown = await _http.GetAsync(Uri(server, "/debug"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task A_taken_port_fails_the_start_with_the_key_and_the_fix()
    {
        await using TelemetryServer first = await StartAsync();
        var second = new TelemetryServer(new TelemetrySettings { MetricsAddress = $"127.0.0.1:{first.BoundEndpoint!.Port}" }, Metrics(), NullLoggerFactory.Instance);

        var error = await Assert.ThrowsAsync<TelemetryStartException>(() => second.StartAsync(CancellationToken.None));

        Assert.StartsWith($"service::telemetry::metrics::address: cannot listen on 127.0.0.1:{first.BoundEndpoint.Port}: ", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("set service::telemetry::metrics::address to a free port, or level: none to turn self-telemetry off", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Level_none_opens_no_port()
    {
        await using var server = new TelemetryServer(new TelemetrySettings { MetricsAddress = "127.0.0.1:0", MetricsLevel = "none" }, Metrics(), NullLoggerFactory.Instance);
        await server.StartAsync(CancellationToken.None);
        Assert.Null(server.BoundEndpoint);
    }

    [Theory]
    [InlineData("127.0.0.1:8888", "127.0.0.1:8888")]
    [InlineData("localhost:9", "127.0.0.1:9")]
    [InlineData("[::1]:8888", "[::1]:8888")]
    public void Addresses_are_ip_literals_or_localhost(string address, string expected) =>
        Assert.Equal(expected, TelemetryServer.ParseAddress(address).ToString());

    [Fact]
    public void A_host_name_is_refused_because_the_bind_address_must_be_unambiguous()
    {
        var error = Assert.Throws<TelemetryStartException>(() => TelemetryServer.ParseAddress("metrics.internal:8888"));
        Assert.Equal("service::telemetry::metrics::address: \"metrics.internal\" is not an IP address; use 127.0.0.1 (or an explicit interface address)", error.Message);
    }

    [Fact]
    public void Label_values_are_escaped()
    {
        var text = new PrometheusText();
        text.Sample("m", 1.5, "l", "a\"b\\c\nd");
        Assert.Equal("m{l=\"a\\\"b\\\\c\\nd\"} 1.5\n", text.ToString());
    }

    private static int ClosedPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static Uri Uri(TelemetryServer server, string path) => new($"http://127.0.0.1:{server.BoundEndpoint!.Port}{path}");

    private CollectorMetrics Metrics(params IExporter[] exporters)
    {
        // The same shape as the harness's receiver: both protocols, both with TLS.
        var settings = new OtlpReceiverSettings
        {
            Name = "otlp",
            Grpc = new OtlpProtocolSettings { Endpoint = "127.0.0.1:0", Tls = _pki.Tls(), MaxRequestBytes = 1024 * 1024 },
            Http = new OtlpProtocolSettings { Endpoint = "127.0.0.1:0", Tls = _pki.Tls(), MaxRequestBytes = 1024 * 1024 },
        };
        return new CollectorMetrics([new ReceiverView(settings, _receiver.Receiver)], exporters.ToDictionary(e => e.Id, StringComparer.Ordinal), TimeProvider.System);
    }

    private async Task<TelemetryServer> StartAsync(params IExporter[] exporters)
    {
        var server = new TelemetryServer(new TelemetrySettings { MetricsAddress = "127.0.0.1:0" }, Metrics(exporters), NullLoggerFactory.Instance);
        await server.StartAsync(CancellationToken.None);
        return server;
    }
}
