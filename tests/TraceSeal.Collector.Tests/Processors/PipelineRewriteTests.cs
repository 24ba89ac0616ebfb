using System.Net;
using System.Runtime.InteropServices;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Processors;
using TraceSeal.Collector.Processors.Batch;
using TraceSeal.Collector.Storage.Index;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using static TraceSeal.Collector.Tests.Processors.TransformHarness;

namespace TraceSeal.Collector.Tests.Processors;

/// <summary>
/// The pipeline hook: only pipelines with a transform decode; the exporters of such a pipeline get the new bytes
/// without the receiver's index; every other pipeline hands on the received buffer itself. And the same through a
/// real receiver, from an OTLP/JSON request.
/// </summary>
public sealed class PipelineRewriteTests : IDisposable
{
    private const string Redaction = """
          redaction:
            allowed_keys: [http.method, service.name, note]
            blocked_values: ["[0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{4}"]
            summary: info
        """;

    private readonly TransformHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task a_pipeline_without_transforms_hands_on_the_received_buffer_and_index_untouched()
    {
        byte[] payload = Trace(Attr("user.email", "alice@example.com")).ToByteArray();
        byte[] copy = [.. payload];
        var index = RequestIndex.Rent();
        var exporter = new CapturingExporter();
        var pipeline = new TelemetryPipeline("traces", OtlpSignal.Traces, [new BatchProcessor("batch")], [exporter]);

        try
        {
            var result = await pipeline.ProcessAsync(Batch(payload.AsMemory(3, payload.Length - 3), OtlpSignal.Traces, index), CancellationToken.None);

            Assert.True(result.Accepted);
            Assert.True(MemoryMarshal.TryGetArray(exporter.Payload, out var segment));
            Assert.Same(payload, segment.Array);
            Assert.Equal((3, payload.Length - 3), (segment.Offset, segment.Count));
            Assert.Same(index, exporter.Index);
            Assert.Equal(copy, payload);
        }
        finally
        {
            RequestIndex.Return(index);
        }
    }

    [Fact]
    public async Task a_pipeline_with_redaction_gives_exporters_new_bytes_without_the_stale_index_and_leaves_the_received_buffer()
    {
        byte[] payload = Trace(Attr("http.method", "POST"), Attr("note", "4111-1111-1111-1111"), Attr("user.email", "alice@example.com")).ToByteArray();
        byte[] copy = [.. payload];
        var index = RequestIndex.Rent();
        var exporter = new CapturingExporter();
        var pipeline = new TelemetryPipeline("traces", OtlpSignal.Traces, [new BatchProcessor("batch"), .. _h.Processors(Redaction, "redaction")], [exporter]);

        try
        {
            var result = await pipeline.ProcessAsync(Batch(payload, OtlpSignal.Traces, index), CancellationToken.None);

            Assert.True(result.Accepted);
            Assert.Null(exporter.Index);
            Assert.Equal(copy, payload);
            var stored = ExportTraceServiceRequest.Parser.ParseFrom(exporter.Copy);
            Assert.Equal(["http.method=POST", "note=****", "redaction.redacted.count=int:1", "redaction.masked.count=int:1"], Show(OnlySpan(stored).Attributes));
        }
        finally
        {
            RequestIndex.Return(index);
        }
    }

    [Fact]
    public async Task an_otlp_json_request_is_redacted_before_any_exporter_sees_it()
    {
        using var pki = new ReceiverTestPki();
        var exporter = new CapturingExporter();
        var pipeline = new TelemetryPipeline("traces", OtlpSignal.Traces, _h.Processors(Redaction, "redaction"), [exporter]);
        await using var harness = await ReceiverHarness.StartAsync(pki);
        harness.Sink.Behavior = (batch, ct) => pipeline.ProcessAsync(batch, ct);
        using var client = harness.CreateClient(pki.Client.Certificate);
        var request = Trace(Attr("http.method", "POST"), Attr("note", "paid with 4111-1111-1111-1111"), Attr("user.email", "alice@example.com"));
        byte[] json = OtlpTestData.Json(request.ToByteArray(), OtlpSignal.Traces);
        Assert.Contains("alice@example.com", System.Text.Encoding.UTF8.GetString(json), StringComparison.Ordinal);

        using var post = ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), json, "application/json");
        using var response = await client.SendAsync(post);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stored = ExportTraceServiceRequest.Parser.ParseFrom(exporter.Copy);
        Assert.Equal(["http.method=POST", "note=paid with ****", "redaction.redacted.count=int:1", "redaction.masked.count=int:1"], Show(OnlySpan(stored).Attributes));
        Assert.Equal(["service.name=checkout", "redaction.redacted.count=int:1"], Show(stored.ResourceSpans[0].Resource.Attributes));
        Assert.DoesNotContain("alice", stored.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("4111", stored.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Keeps a copy of the last payload (the batch's buffer is only valid during the call) and its index reference.</summary>
    internal sealed class CapturingExporter : IExporter
    {
        public string Id => "capture";

        public ReadOnlyMemory<byte> Payload { get; private set; }

        public byte[] Copy { get; private set; } = [];

        public RequestIndex? Index { get; private set; }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask<SinkResult> ExportAsync(ReceivedBatch batch, CancellationToken cancellationToken)
        {
            Payload = batch.Payload;
            Copy = batch.Payload.ToArray();
            Index = batch.Index;
            return ValueTask.FromResult(SinkResult.Ok);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
