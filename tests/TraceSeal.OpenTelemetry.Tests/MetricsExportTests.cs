using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using TraceSeal.OpenTelemetry.Tests.Infrastructure;
using TraceSeal.Otlp;

namespace TraceSeal.OpenTelemetry.Tests;

/// <summary>The metrics variant uses the same transport and the OTEL_EXPORTER_OTLP_METRICS_* variables.</summary>
[Collection(SdkCollection.Name)]
public sealed class MetricsExportTests(TestPki pki)
{
    [Fact]
    public async Task Metrics_export_over_mutual_tls_using_the_per_signal_endpoint()
    {
        await using var receiver = await Receiver.StartAsync(pki);
        var env = TestApp.MutualTls(pki, "https://wrong.example:1", "http/protobuf");
        env["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = receiver.GrpcUrl;
        env["OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"] = "grpc";
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(env).Build();
        string meterName = "TraceSeal.OpenTelemetry.Tests.Metrics." + Guid.NewGuid().ToString("N")[..8];

        using (var meter = new Meter(meterName))
        using (MeterProvider provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(meterName)
            .AddSecureOtlpExporter(o => o.Configuration = configuration)
            .Build())
        {
            meter.CreateCounter<long>("test.requests").Add(3);
            Assert.True(provider.ForceFlush(30_000));
        }

        Assert.Contains(receiver.Batches, b => b.Signal == OtlpSignal.Metrics && b.ItemCount > 0);
    }
}
