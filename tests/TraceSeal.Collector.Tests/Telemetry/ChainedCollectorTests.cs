using System.Net;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Hosting;
using TraceSeal.Collector.Tests.Hosting;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.Telemetry;

/// <summary>
/// An edge collector from YAML (mTLS receiver → otlp exporter, self-telemetry on) forwarding to a gateway
/// (a TraceSeal receiver with its own CA) over mutual TLS: counts match end to end, /metrics and /readyz agree.
/// </summary>
public sealed class ChainedCollectorTests : IAsyncLifetime
{
    private readonly MtlsHostEnvironment _edge = new();
    private readonly ReceiverTestPki _gatewayPki = new();
    private ReceiverHarness _gateway = null!;

    public async Task InitializeAsync() => _gateway = await ReceiverHarness.StartAsync(_gatewayPki);

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        _gatewayPki.Dispose();
        _edge.Dispose();
    }

    [Fact]
    public async Task Spans_sent_to_the_edge_reach_the_gateway_and_the_edge_reports_them()
    {
        var tls = Exporters.ExporterTestSupport.MutualTls(_gatewayPki);
        string yaml = $$"""
            receivers:
              otlp:
                protocols:
                  http:
                    endpoint: 127.0.0.1:0
                    tls:
                      cert_file: server.crt
                      key_file: server.key
                      client_ca_file: ca.crt
            exporters:
              otlp/gateway:
                endpoint: 127.0.0.1:{{_gateway.Receiver.GrpcEndpoint!.Port}}
                tls:
                  ca_file: {{tls.CaFile}}
                  cert_file: {{tls.CertFile}}
                  key_file: {{tls.KeyFile}}
                retry_on_failure:
                  initial_interval: 10ms
                  max_elapsed_time: 2s
            service:
              telemetry:
                metrics:
                  address: 127.0.0.1:{{FreePort()}}
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [otlp/gateway]
            """;
        CollectorConfig config = CollectorConfigLoader.Parse(yaml, _edge.ConfigPath);
        await using var host = CollectorHost.Create(config, NullLoggerFactory.Instance, selfTelemetry: true);
        await host.StartAsync(CancellationToken.None);
        using HttpClient client = _edge.Client();
        using var http = new HttpClient();
        string telemetry = $"http://127.0.0.1:{host.Telemetry!.BoundEndpoint!.Port}";

        using HttpResponseMessage response = await client.PostAsync($"https://localhost:{host.Receivers[0].HttpEndpoint!.Port}/v1/traces", MtlsHostEnvironment.Protobuf(MtlsHostEnvironment.Spans(7).ToByteArray()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(7, _gateway.Sink.Items(OtlpSignal.Traces));
        Assert.Equal(7, Assert.IsType<OtlpForwardingExporter>(host.Exporters["otlp/gateway"]).Counters.Sent);
        string metrics = await http.GetStringAsync(telemetry + "/metrics");
        Assert.Contains("traceseal_receiver_items_accepted_total{receiver=\"otlp\",protocol=\"http\"} 7\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_exporter_items_total{exporter=\"otlp/gateway\",outcome=\"sent\"} 7\n", metrics, StringComparison.Ordinal);
        Assert.Contains("traceseal_receiver_tenant_items_accepted_total{receiver=\"otlp\",tenant=\"default\"} 7\n", metrics, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(telemetry + "/readyz")).StatusCode);

        await host.StopAsync(CancellationToken.None);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetAsync(telemetry + "/healthz"));
    }

    /// <summary>The loader wants a real port for the telemetry address; take one the OS just handed out.</summary>
    private static int FreePort()
    {
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    [Fact]
    public async Task A_plaintext_upstream_without_insecure_is_refused_with_the_config_file_named()
    {
        var settings = Exporters.ExporterTestSupport.Settings(OtlpExporterProtocol.Http, "http://127.0.0.1:4318", new TlsClientSettings());
        var error = Assert.Throws<InvalidOperationException>(() => ComponentFactory.CreateExporter("otlphttp", settings, "collector.yaml"));
        Assert.Equal("collector.yaml: exporters::otlphttp::endpoint: http:// sends telemetry in plaintext; use https://, or set tls::insecure: true to opt out explicitly", error.Message);
    }
}
