using TraceSeal.Interop.Tests.Infrastructure;
using TraceSeal.Collector.Tls;
using TraceSeal.Otlp;

namespace TraceSeal.Interop.Tests;

/// <summary>
/// Real OpenTelemetry SDK exporters (.NET and JavaScript), configured only through OTEL_EXPORTER_OTLP_* as
/// the seeds show, export to a TraceSeal receiver that requires client certificates. Each test runs its
/// own receiver, so the counts are exactly this client's.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class SdkInteropTests(InteropPki pki)
{
    // More than one export batch for both SDKs (their batch processors send at most 512 spans per request).
    private const int SpanCount = 1200;
    private static readonly TimeSpan ArrivalTimeout = TimeSpan.FromSeconds(15);

    private ClientTls ClientCertificate => new(pki.CaCertificate, pki.ClientCertificate, pki.ClientKey);

    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task DotnetSdk_exports_every_span_over_mtls(string protocol)
    {
        await using var receiver = await TestReceiver.StartAsync(pki);
        var endpoint = protocol == "grpc" ? receiver.GrpcUrl : receiver.HttpUrl;

        var run = await InteropClients.RunDotnetSdkAsync(pki, endpoint, protocol, ClientCertificate, SpanCount);

        await AssertExactlyExportedAsync(receiver, run, SpanCount);
    }

    [Theory]
    [InlineData("grpc", "grpc")]
    [InlineData("proto", "http")]
    [InlineData("http", "http")]
    public async Task JsExporter_exports_every_span_over_mtls(string exporter, string port)
    {
        await using var receiver = await TestReceiver.StartAsync(pki);
        var endpoint = port == "grpc" ? receiver.GrpcUrl : receiver.HttpUrl;

        var run = await InteropClients.RunJsAsync(pki, endpoint, exporter, ClientCertificate, SpanCount);

        await AssertExactlyExportedAsync(receiver, run, SpanCount);
    }

    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task DotnetSdk_without_client_certificate_fails_and_nothing_arrives(string protocol)
    {
        await using var receiver = await TestReceiver.StartAsync(pki);
        var endpoint = protocol == "grpc" ? receiver.GrpcUrl : receiver.HttpUrl;

        // TLS only (the seeds' "if you only need TLS" variant): the CA, no client certificate or key.
        var run = await InteropClients.RunDotnetSdkAsync(pki, endpoint, protocol, new ClientTls(pki.CaCertificate, null, null), 5);

        Assert.True(run.Process.ExitCode == 1, $"the SDK must report the export as failed\n{run.Process}\n--- receiver log ---\n{receiver.Logs}");
        Assert.Equal("FAILED", run.Result);

        // Refused for the right reason: at the handshake, for the missing certificate (not, say, an HTTP 500).
        await receiver.WaitForHandshakeFailureAsync(HandshakeFailure.NoClientCertificate);
        Assert.Equal(0, receiver.Counters.RequestsAccepted);
        Assert.Equal(0, receiver.Sink.Count(OtlpSignal.Traces));
        Assert.Empty(receiver.Sink.Batches);
    }

    [Fact]
    public async Task JsGrpcExporter_with_client_certificate_from_another_ca_fails_and_nothing_arrives()
    {
        await using var receiver = await TestReceiver.StartAsync(pki);
        var rogue = new ClientTls(pki.CaCertificate, pki.RogueClientCertificate, pki.RogueClientKey);

        // The handshake failure is UNAVAILABLE, which the exporter retries; a short export timeout keeps the
        // retries (and the test) short. The outcome does not depend on it.
        var run = await InteropClients.RunJsAsync(pki, receiver.GrpcUrl, "grpc", rogue, 5, new Dictionary<string, string> { ["OTEL_EXPORTER_OTLP_TIMEOUT"] = "3000" });

        Assert.True(run.Process.ExitCode == 1, $"the exporter must report the export as failed\n{run.Process}\n--- receiver log ---\n{receiver.Logs}");
        Assert.Equal("FAILED", run.Result);

        // Refused for the right reason: at the handshake, because the certificate does not chain to client_ca_file.
        await receiver.WaitForHandshakeFailureAsync(HandshakeFailure.UntrustedCa);
        Assert.Equal(0, receiver.Counters.RequestsAccepted);
        Assert.Equal(0, receiver.Sink.Count(OtlpSignal.Traces));
        Assert.Empty(receiver.Sink.Batches);
    }

    private static async Task AssertExactlyExportedAsync(TestReceiver receiver, ClientRun run, int spans)
    {
        Assert.True(run.Process.ExitCode == 0, $"the client reported a failed export\n{run.Process}\n--- receiver log ---\n{receiver.Logs}");
        Assert.Equal("SUCCESS", run.Result);

        // The receiver acknowledges only after the sink accepted, so by now everything is counted; the bounded
        // wait only turns a shortfall into a clear message.
        await receiver.Sink.WaitForCountAsync(OtlpSignal.Traces, spans, ArrivalTimeout);
        Assert.Equal(spans, receiver.Sink.Count(OtlpSignal.Traces));
        Assert.Equal(spans, receiver.Counters.ItemsAccepted);
        Assert.Equal(0, receiver.Counters.TotalHandshakeFailures);

        var batches = receiver.Sink.Batches;
        Assert.Equal(spans, batches.Sum(b => b.ItemCount));
        Assert.All(batches, b => Assert.Equal(OtlpSignal.Traces, b.Signal));
        Assert.All(batches, b => Assert.Contains("my-application", b.Identity, StringComparison.Ordinal));

        // The spans carry the client's unique run id as an attribute; every batch must be this run's.
        var runId = run.RunIdBytes;
        Assert.All(batches, b => Assert.True(b.Payload.AsSpan().IndexOf(runId) >= 0, "a batch without this run's id arrived"));
    }
}
