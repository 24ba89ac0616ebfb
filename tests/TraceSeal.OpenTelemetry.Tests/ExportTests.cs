using System.Text;
using TraceSeal.OpenTelemetry.Tests.Infrastructure;

namespace TraceSeal.OpenTelemetry.Tests;

/// <summary>An app with only the OTEL_EXPORTER_OTLP_* settings exports to a real mTLS receiver over both protocols.</summary>
[Collection(SdkCollection.Name)]
public sealed class ExportTests(TestPki pki)
{
    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task Exports_over_mutual_tls_with_only_the_environment_variables(string protocol)
    {
        await using var receiver = await Receiver.StartAsync(pki);
        using (var app = TestApp.Start(TestApp.MutualTls(pki, receiver.Url(protocol), protocol)))
        {
            Assert.True(app.Export(10));
            await Eventually.WaitUntilAsync(() => receiver.Spans >= 10, TimeSpan.FromSeconds(20), () => $"{receiver.Spans} spans arrived\n{app.Logs}");
            Assert.Equal(0, app.Logs.Count("ExportFailed"));
            Assert.Contains(app.Logs.Messages("ExporterStarted"), m => m.Contains(protocol, StringComparison.Ordinal) && m.Contains("my-application", StringComparison.Ordinal));
        }

        Assert.Equal(10, receiver.Spans);
        Assert.All(receiver.Batches, b => Assert.Contains("my-application", b.Identity, StringComparison.Ordinal));

        // The resource travels with the spans (the wrapper hands the provider on to the upstream exporter).
        Assert.Contains(receiver.Batches, b => Encoding.UTF8.GetString(b.Payload).Contains(TestApp.ServiceName, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("grpc", "gRPC UNAVAILABLE")]
    [InlineData("http/protobuf", "HTTP 503")]
    public async Task A_retryable_refusal_is_retried_after_the_servers_delay(string protocol, string reason)
    {
        await using var receiver = await Receiver.StartAsync(pki);
        receiver.RefuseNext(1, TimeSpan.FromSeconds(1));
        using var app = TestApp.Start(TestApp.MutualTls(pki, receiver.Url(protocol), protocol));

        Assert.True(app.Export(5));
        await Eventually.WaitUntilAsync(() => receiver.Spans >= 5, TimeSpan.FromSeconds(20), () => $"{receiver.Spans} spans arrived\n{app.Logs}");

        string retry = Assert.Single(app.Logs.Messages("Retrying"));
        Assert.Contains(reason, retry, StringComparison.Ordinal);

        // The server said "come back in 1 s" (RetryInfo / Retry-After), not the 100 ms client backoff.
        Assert.Contains("retrying in 1000 ms", retry, StringComparison.Ordinal);
        Assert.Equal(0, app.Logs.Count("ExportFailed"));
    }
}
