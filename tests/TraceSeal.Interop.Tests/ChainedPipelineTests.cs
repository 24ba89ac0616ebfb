using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Collector.Trace.V1;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Hosting;
using TraceSeal.Interop.Tests.Infrastructure;
using TraceSeal.Otlp;
using TraceSeal.Query;
using TraceSeal.Sealing;

namespace TraceSeal.Interop.Tests;

/// <summary>
/// The scale-out path end to end: the OpenTelemetry .NET SDK → an edge collector (mTLS receiver, otlp
/// exporter with a sealed sending queue) → a gateway collector over mTLS (sealed_store) → the reader.
/// Every span the app exported is read back from the gateway's sealed store.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class ChainedPipelineTests(InteropPki pki)
{
    private const int Spans = 300;

    [Fact]
    public async Task Sdk_app_to_edge_to_gateway_to_sealed_store_counts_match()
    {
        string work = pki.NewWorkDirectory();
        KeyFiles.Init(Path.Combine(work, "keys"), "reader");

        var gatewayConfig = CollectorConfigLoader.Parse($$"""
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 127.0.0.1:0
                    tls:
                      cert_file: {{pki.ServerCertificate}}
                      key_file: {{pki.ServerKey}}
                      client_ca_file: {{pki.CaCertificate}}
            exporters:
              sealed_store:
                directory: gateway-data
                recipients: [keys/reader.recipient.pem]
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [sealed_store]
            """, Path.Combine(work, "gateway.yaml"));
        await using var gateway = CollectorHost.Create(gatewayConfig, NullLoggerFactory.Instance);
        await gateway.StartAsync(CancellationToken.None);

        var edgeConfig = CollectorConfigLoader.Parse($$"""
            receivers:
              otlp:
                protocols:
                  http:
                    endpoint: 127.0.0.1:0
                    tls:
                      cert_file: {{pki.ServerCertificate}}
                      key_file: {{pki.ServerKey}}
                      client_ca_file: {{pki.CaCertificate}}
            processors:
              memory_limiter:
                check_interval: 1s
                limit_mib: 2048
            exporters:
              otlp/gateway:
                endpoint: localhost:{{gateway.Receivers[0].GrpcEndpoint!.Port}}
                tls:
                  ca_file: {{pki.CaCertificate}}
                  cert_file: {{pki.ClientCertificate}}
                  key_file: {{pki.ClientKey}}
                sending_queue:
                  directory: edge-queue
                  queue_key_file: edge-queue.key
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  processors: [memory_limiter]
                  exporters: [otlp/gateway]
            """, Path.Combine(work, "edge.yaml"));
        await using var edge = CollectorHost.Create(edgeConfig, NullLoggerFactory.Instance);
        await edge.StartAsync(CancellationToken.None);

        var run = await InteropClients.RunDotnetSdkAsync(
            pki,
            $"https://localhost:{edge.Receivers[0].HttpEndpoint!.Port}",
            "http/protobuf",
            new ClientTls(pki.CaCertificate, pki.ClientCertificate, pki.ClientKey),
            Spans);
        Assert.True(run.Process.ExitCode == 0, run.Process.ToString());

        // The edge acknowledged once the batches were in its sealed queue; the gateway gets them asynchronously.
        var reader = new StoreReader(Path.Combine(work, "gateway-data"), [KeyFiles.LoadIdentity(Path.Combine(work, "keys", "reader.identity.pem"))]);
        int stored = 0;
        await Eventually.WaitUntilAsync(
            () => (stored = CountSpans(reader)) >= Spans,
            TimeSpan.FromSeconds(30),
            () => $"the gateway's sealed store holds {stored} of {Spans} spans");

        Assert.Equal(Spans, stored);
        Assert.Equal(Spans, edge.Receivers[0].Counters.ItemsAccepted);
        Assert.Equal(Spans, gateway.Receivers[0].Counters.ItemsAccepted);
    }

    private static int CountSpans(StoreReader reader)
    {
        int spans = 0;
        foreach (string tenant in reader.Tenants())
        {
            foreach (var record in reader.ReadRecords(tenant))
            {
                if (record.Signal != OtlpSignal.Traces)
                {
                    continue;
                }

                var request = ExportTraceServiceRequest.Parser.ParseFrom(record.Payload.Span);
                spans += request.ResourceSpans.Sum(r => r.ScopeSpans.Sum(s => s.Spans.Count));
            }
        }

        return spans;
    }
}
