using System.Net;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Exporters.Discard;
using TraceSeal.Collector.Hosting;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.Hosting;

/// <summary>The whole collector from YAML: config → host → mTLS receiver → pipeline → exporter.</summary>
public sealed class CollectorHostTests : IDisposable
{
    private readonly MtlsHostEnvironment _env = new();

    public void Dispose() => _env.Dispose();

    [Fact]
    public async Task Spans_sent_over_mutual_tls_reach_the_exporter_of_the_pipeline()
    {
        var config = CollectorConfigLoader.Parse(MtlsHostEnvironment.Yaml(MtlsHostEnvironment.TracesPipeline), _env.ConfigPath);
        await using var host = CollectorHost.Create(config, NullLoggerFactory.Instance);
        await host.StartAsync(CancellationToken.None);
        var port = host.Receivers[0].HttpEndpoint!.Port;
        using var client = _env.Client();

        var response = await client.PostAsync($"https://localhost:{port}/v1/traces", MtlsHostEnvironment.Protobuf(MtlsHostEnvironment.Spans(7).ToByteArray()));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var discard = Assert.IsType<DiscardExporter>(host.Exporters["discard"]);
        Assert.Equal(7, discard.Items(OtlpSignal.Traces));
        Assert.Equal(7, discard.ItemsForTenant("default"));
    }

    [Fact]
    public async Task A_signal_without_a_pipeline_is_refused_as_unsupported_not_retryable()
    {
        var config = CollectorConfigLoader.Parse(MtlsHostEnvironment.Yaml("""
                logs:
                  receivers: [otlp]
                  processors: [batch]
                  exporters: [discard]
        """), _env.ConfigPath);
        await using var host = CollectorHost.Create(config, NullLoggerFactory.Instance);
        await host.StartAsync(CancellationToken.None);
        using var client = _env.Client();

        var response = await client.PostAsync(
            $"https://localhost:{host.Receivers[0].HttpEndpoint!.Port}/v1/traces",
            MtlsHostEnvironment.Protobuf(MtlsHostEnvironment.Spans(1).ToByteArray()));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Null(response.Headers.RetryAfter);
        Assert.Equal(0, ((DiscardExporter)host.Exporters["discard"]).Items(OtlpSignal.Traces));
    }

    [Fact]
    public async Task A_receiver_that_cannot_start_leaves_nothing_listening()
    {
        var config = CollectorConfigLoader.Parse(MtlsHostEnvironment.Yaml(MtlsHostEnvironment.TracesPipeline), _env.ConfigPath);

        // The loader checked the file; it disappears before the collector starts (a botched deploy).
        File.Delete(Path.Combine(_env.Dir, "server.key"));
        await using var host = CollectorHost.Create(config, NullLoggerFactory.Instance);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(CancellationToken.None));

        Assert.Contains("key_file", error.Message);
        Assert.Contains("server.key", error.Message);
        Assert.Null(host.Receivers[0].HttpEndpoint);
    }
}
