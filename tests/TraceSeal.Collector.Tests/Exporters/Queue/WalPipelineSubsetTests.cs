using System.Net;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Hosting;
using TraceSeal.Collector.Storage;
using TraceSeal.Collector.Tests.Hosting;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using TraceSeal.Query;
using TraceSeal.Sealing;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Collector.Tests.Exporters.Queue;

/// <summary>
/// A forwarder in a part of a sealed store's pipelines reads the store's WAL and forwards only its pipelines' records:
/// each WAL record names the forwarders of the pipelines that wrote it (docs/format.md §14.12). Real collectors from
/// YAML, requests over mTLS into each pipeline's receiver, a gateway that counts what arrives.
/// </summary>
public sealed class WalPipelineSubsetTests : IDisposable
{
    private const int SpansA = 3;
    private const int SpansB = 5;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly MtlsHostEnvironment _edge = new();
    private readonly ReceiverTestPki _gatewayPki = new();
    private int _nextTrace;

    public WalPipelineSubsetTests() => KeyFiles.Init(Path.Combine(_edge.Dir, "keys"), "ops");

    public void Dispose()
    {
        _gatewayPki.Dispose();
        _edge.Dispose();
    }

    /// <summary>The example: pipeline a has the store and the gateway forwarder, pipeline b (another receiver) the store only.</summary>
    private const string Example = """
            traces/a:
              receivers: [otlp]
              processors: [batch]
              exporters: [sealed_store, otlp/gw]
            traces/b:
              receivers: [otlp/internal]
              exporters: [sealed_store]
        """;

    [Fact]
    public async Task A_forwarder_in_one_of_two_pipelines_of_a_store_reads_its_wal_and_forwards_exactly_that_pipelines_spans_across_a_restart()
    {
        await using var gateway = new SwitchableUpstream(_gatewayPki, OtlpExporterProtocol.Grpc);
        using var logs = new CapturingLoggerProvider();
        await using (var edge = await StartEdgeAsync(Example, gateway, logs))
        {
            var forwarder = Assert.IsType<OtlpForwardingExporter>(edge.Exporters["otlp/gw"]);
            Assert.Equal("sealed_store", forwarder.ReadsWalOf);
            Assert.Contains(logs.Messages, m => m.Level == LogLevel.Information && m.Text ==
                "exporter otlp/gw: forwards from the WAL of sealed_store the records of its pipelines [traces/a] (one sealed, fsync'd write per request; its own sending queue, if any, only sends what an earlier run left)");
            Assert.DoesNotContain(logs.Messages, m => m.Text.Contains("does not read the WAL", StringComparison.Ordinal));

            // The gateway is down: every request is acknowledged once it is in the WAL, written there once.
            for (int i = 0; i < 4; i++)
            {
                await SendAsync(edge, "otlp", SpansA);
                await SendAsync(edge, "otlp/internal", SpansB);
            }

            var store = Assert.IsType<SealedStoreExporter>(edge.Exporters["sealed_store"]);
            Assert.Equal(8, store.RequestsCommitted);
            Assert.True(forwarder.QueueBacklogBytes > 0);
        }

        // A restart: the forwarder finds what it had not forwarded among the recovered segments, by its records.
        await using (var edge = await StartEdgeAsync(Example, gateway, logs))
        {
            await SendAsync(edge, "otlp", SpansA);
            await SendAsync(edge, "otlp/internal", SpansB);
            var forwarder = Assert.IsType<OtlpForwardingExporter>(edge.Exporters["otlp/gw"]);
            await gateway.StartAsync();
            await Eventually.TrueAsync(() => gateway.Sink.Items(OtlpSignal.Traces) >= 5 * SpansA && forwarder.QueueBacklogBytes == 0, "pipeline a's spans at the gateway", Deadline);
            Assert.Equal(5 * SpansA, gateway.Sink.Items(OtlpSignal.Traces));
            Assert.Equal(4 * SpansA, forwarder.Counters.Replayed); // sent from the segment of the first run
        }

        // The store holds both pipelines' spans, each once.
        Assert.Equal((5 * SpansA) + (5 * SpansB), Reader().Query(new TraceQuery { Limit = 0 }).SpanCount);
    }

    [Fact]
    public async Task Records_name_their_forwarders_not_their_pipelines_so_a_config_that_renames_or_moves_pipelines_forwards_what_was_acknowledged_for_it()
    {
        await using var gateway = new SwitchableUpstream(_gatewayPki, OtlpExporterProtocol.Grpc);
        await using (var edge = await StartEdgeAsync(Example, gateway))
        {
            for (int i = 0; i < 3; i++)
            {
                await SendAsync(edge, "otlp", SpansA);
                await SendAsync(edge, "otlp/internal", SpansB);
            }
        }

        // Renamed pipelines: nothing in the WAL names them, so the records of the first run are still otlp/gw's.
        const string renamed = """
                traces/edge:
                  receivers: [otlp]
                  processors: [batch]
                  exporters: [sealed_store, otlp/gw]
                traces/internal-only:
                  receivers: [otlp/internal]
                  exporters: [sealed_store]
            """;
        await using (var edge = await StartEdgeAsync(renamed, gateway))
        {
            await SendAsync(edge, "otlp", SpansA);
            await SendAsync(edge, "otlp/internal", SpansB);
        }

        // Then otlp/gw moves to the other receiver's pipeline: what was acknowledged while it was in the first one is
        // still its own, and from now on pipeline b's requests are.
        const string moved = """
                traces/a:
                  receivers: [otlp]
                  exporters: [sealed_store]
                traces/b:
                  receivers: [otlp/internal]
                  exporters: [sealed_store, otlp/gw]
            """;
        await using (var edge = await StartEdgeAsync(moved, gateway))
        {
            await SendAsync(edge, "otlp", SpansA);
            await SendAsync(edge, "otlp/internal", SpansB);
            var forwarder = Assert.IsType<OtlpForwardingExporter>(edge.Exporters["otlp/gw"]);
            await gateway.StartAsync();
            int expected = (4 * SpansA) + SpansB;
            await Eventually.TrueAsync(() => gateway.Sink.Items(OtlpSignal.Traces) >= expected && forwarder.QueueBacklogBytes == 0, "otlp/gw's spans at the gateway", Deadline);
            Assert.Equal(expected, gateway.Sink.Items(OtlpSignal.Traces));
        }
    }

    [Fact]
    public async Task A_request_a_receiver_hands_to_two_pipelines_with_the_store_is_written_once_and_each_forwarder_sends_it_once()
    {
        await using var gateway = new SwitchableUpstream(_gatewayPki, OtlpExporterProtocol.Grpc);
        await using var other = new SwitchableUpstream(_gatewayPki, OtlpExporterProtocol.Grpc);
        await gateway.StartAsync();
        await other.StartAsync();
        string pipelines = """
                traces/a:
                  receivers: [otlp]
                  exporters: [sealed_store, otlp/gw]
                traces/c:
                  receivers: [otlp]
                  processors: [batch]
                  exporters: [sealed_store, otlp/other]
                traces/b:
                  receivers: [otlp/internal]
                  exporters: [sealed_store]
            """;
        await using var edge = await StartEdgeAsync(pipelines, gateway, extraForwarder: ("otlp/other", other));
        var store = Assert.IsType<SealedStoreExporter>(edge.Exporters["sealed_store"]);
        Assert.Equal("sealed_store", Assert.IsType<OtlpForwardingExporter>(edge.Exporters["otlp/other"]).ReadsWalOf);

        await SendAsync(edge, "otlp", SpansA);
        await SendAsync(edge, "otlp", SpansA);
        await SendAsync(edge, "otlp/internal", SpansB);

        Assert.Equal(3, store.RequestsCommitted); // not 5: one record each, naming both forwarders
        await Eventually.TrueAsync(() => gateway.Sink.Items(OtlpSignal.Traces) >= 2 * SpansA && other.Sink.Items(OtlpSignal.Traces) >= 2 * SpansA, "both forwarders to send", Deadline);
        await Eventually.TrueAsync(() => ((OtlpForwardingExporter)edge.Exporters["otlp/gw"]).QueueBacklogBytes == 0 && ((OtlpForwardingExporter)edge.Exporters["otlp/other"]).QueueBacklogBytes == 0, "both to pass every frame", Deadline);
        Assert.Equal(2 * SpansA, gateway.Sink.Items(OtlpSignal.Traces));
        Assert.Equal(2 * SpansA, other.Sink.Items(OtlpSignal.Traces));
    }

    [Fact]
    public async Task A_renamed_forwarder_is_a_new_consumer_and_what_the_old_id_had_not_forwarded_is_a_warning_not_its_records()
    {
        await using var gateway = new SwitchableUpstream(_gatewayPki, OtlpExporterProtocol.Grpc);
        await using (var edge = await StartEdgeAsync(Example, gateway))
        {
            await SendAsync(edge, "otlp", SpansA);
            await SendAsync(edge, "otlp/internal", SpansB);
        }

        using var logs = new CapturingLoggerProvider();
        await using (var edge = await StartEdgeAsync(Example.Replace("otlp/gw", "otlp/gw2", StringComparison.Ordinal), gateway, logs, gatewayId: "otlp/gw2"))
        {
            Assert.Contains(logs.Messages, m => m.Level == LogLevel.Warning && m.Text ==
                "WAL cursor forward-otlp~2fgw.cursor of tenant default belongs to no forwarder reading sealed_store in this config (renamed, removed, or now in a pipeline without the store): the records named for it in 1 segment(s) it had not passed are not forwarded by any other forwarder");
            await SendAsync(edge, "otlp", SpansA);
            var forwarder = Assert.IsType<OtlpForwardingExporter>(edge.Exporters["otlp/gw2"]);
            await gateway.StartAsync();
            await Eventually.TrueAsync(() => gateway.Sink.Items(OtlpSignal.Traces) >= SpansA && forwarder.QueueBacklogBytes == 0, "otlp/gw2's spans at the gateway", Deadline);
            Assert.Equal(SpansA, gateway.Sink.Items(OtlpSignal.Traces)); // its own request only, not otlp/gw's
        }
    }

    [Fact]
    public async Task A_removed_forwarders_cursor_is_kept_and_warned_about_while_owed_segments_and_deleted_once_owed_none()
    {
        string walDir = Path.Combine(_edge.Dir, "data", "wal", "default");
        string cursor = Path.Combine(walDir, "forward-otlp~2fgw.cursor");
        await using var gateway = new SwitchableUpstream(_gatewayPki, OtlpExporterProtocol.Grpc);
        await using (var edge = await StartEdgeAsync(Example, gateway))
        {
            await SendAsync(edge, "otlp", SpansA); // the gateway is down: otlp/gw does not forward it
        }

        Assert.True(File.Exists(cursor));
        string withoutForwarder = Example.Replace("exporters: [sealed_store, otlp/gw]", "exporters: [sealed_store]", StringComparison.Ordinal);

        // Removed while still owed a segment: kept, and the start says what is not forwarded.
        using var first = new CapturingLoggerProvider();
        await using (var edge = await StartEdgeAsync(withoutForwarder, gateway, first))
        {
            Assert.Contains(first.Messages, m => m.Level == LogLevel.Warning && m.Text ==
                "WAL cursor forward-otlp~2fgw.cursor of tenant default belongs to no forwarder reading sealed_store in this config (renamed, removed, or now in a pipeline without the store): the records named for it in 1 segment(s) it had not passed are not forwarded by any other forwarder");
            Assert.True(File.Exists(cursor));
            Assert.DoesNotContain(first.Messages, m => m.Text.Contains("deleted", StringComparison.Ordinal));
        }

        // No forwarder reads the store any more, so that segment was let go: the next start finds the cursor owed none.
        using var second = new CapturingLoggerProvider();
        await using (var edge = await StartEdgeAsync(withoutForwarder, gateway, second))
        {
            Assert.False(File.Exists(cursor), string.Join(", ", Directory.GetFiles(walDir).Select(Path.GetFileName)));
            Assert.DoesNotContain(second.Messages, m => m.Level == LogLevel.Warning && m.Text.StartsWith("WAL cursor", StringComparison.Ordinal));
            Assert.Contains(second.Messages, m => m.Level == LogLevel.Information && m.Text ==
                "WAL cursor forward-otlp~2fgw.cursor of tenant default deleted: it belongs to no forwarder reading sealed_store in this config and no segment is owed to it any more");
        }

        // The spans stay in the store either way: only the forwarding was given up.
        Assert.Equal(SpansA, Reader().Query(new TraceQuery { Limit = 0 }).SpanCount);
    }

    private StoreReader Reader() => new(Path.Combine(_edge.Dir, "data"), [KeyFiles.LoadIdentity(Path.Combine(_edge.Dir, "keys", "ops.identity.pem"))]);

    /// <summary>An edge collector from YAML: receivers `otlp` and `otlp/internal` (mTLS over HTTP), `batch`, the store and `otlp/gw` to <paramref name="gateway"/>.</summary>
    private async Task<CollectorHost> StartEdgeAsync(
        string pipelines, SwitchableUpstream gateway, CapturingLoggerProvider? logs = null, (string Id, SwitchableUpstream Upstream)? extraForwarder = null, string gatewayId = "otlp/gw")
    {
        var tls = ExporterTestSupport.MutualTls(_gatewayPki);
        string Forwarder(string id, SwitchableUpstream upstream) => $$"""
              {{id}}:
                endpoint: {{upstream.Endpoint}}
                tls: {ca_file: {{tls.CaFile}}, cert_file: {{tls.CertFile}}, key_file: {{tls.KeyFile}}}
                retry_on_failure: {initial_interval: 10ms, max_interval: 100ms}

            """;
        string receiver = """
                protocols:
                  http:
                    endpoint: 127.0.0.1:0
                    tls: {cert_file: server.crt, key_file: server.key, client_ca_file: ca.crt}
            """;
        string yaml = $$"""
            receivers:
              otlp:
            {{receiver}}
              otlp/internal:
            {{receiver}}
            processors:
              batch: {}
            exporters:
              sealed_store:
                directory: {{Path.Combine(_edge.Dir, "data")}}
                recipients: [{{Path.Combine(_edge.Dir, "keys", "ops.recipient.pem")}}]
            {{Forwarder(gatewayId, gateway)}}{{(extraForwarder is { } extra ? Forwarder(extra.Id, extra.Upstream) : "")}}
            service:
              pipelines:
            {{pipelines}}
            """;
        CollectorConfig config = CollectorConfigLoader.Parse(yaml, _edge.ConfigPath);
        var factory = LoggerFactory.Create(b => b.AddProvider(logs ?? new CapturingLoggerProvider()));
        var host = CollectorHost.Create(config, factory);
        await host.StartAsync(CancellationToken.None);
        return host;
    }

    /// <summary>One request of <paramref name="spans"/> spans, each with its own trace id, to the receiver named; it must be acknowledged.</summary>
    private async Task SendAsync(CollectorHost host, string receiver, int spans)
    {
        var scope = new ScopeSpans();
        for (int i = 0; i < spans; i++)
        {
            int n = Interlocked.Increment(ref _nextTrace);
            scope.Spans.Add(new Span
            {
                TraceId = ByteString.CopyFrom([.. BitConverter.GetBytes(n), .. new byte[12]]),
                SpanId = ByteString.CopyFrom([.. BitConverter.GetBytes(n), .. new byte[4]]),
                Name = "op",
                StartTimeUnixNano = 1,
                EndTimeUnixNano = 2,
            });
        }

        var request = new ExportTraceServiceRequest { ResourceSpans = { new ResourceSpans { ScopeSpans = { scope } } } };
        int index = host.Config.Receivers.ToList().FindIndex(r => r.Name == receiver);
        using HttpClient client = _edge.Client();
        using HttpResponseMessage response = await client.PostAsync(
            $"https://localhost:{host.Receivers[index].HttpEndpoint!.Port}/v1/traces", MtlsHostEnvironment.Protobuf(request.ToByteArray()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
