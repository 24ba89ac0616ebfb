using System.Net;
using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.Receivers;

/// <summary>
/// TLS without client_ca_file (server-only TLS, allowed with a warning): a client without a certificate is
/// admitted as identity "anonymous" to tenant "default" on both protocols.
/// </summary>
public sealed class ServerOnlyTlsTests
{
    [Fact]
    public async Task A_grpc_export_without_a_client_certificate_is_ok_as_anonymous_default()
    {
        using var pki = new ReceiverTestPki();
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(pki, tls: pki.Tls(mutual: false), loggerFactory: loggerFactory);
        using HttpClient client = harness.CreateClient(clientCertificate: null);
        using var request = ReceiverHarness.GrpcPost(harness.GrpcUri("/opentelemetry.proto.collector.trace.v1.TraceService/Export"), OtlpTestData.GrpcFrame(OtlpTestData.Traces(3)));

        GrpcResult result = await ReceiverHarness.SendGrpcAsync(client, request);

        Assert.Empty(logs.Exceptions);
        Assert.Equal(200, result.HttpStatus);
        Assert.Equal(GrpcCodes.Ok, result.GrpcStatus);
        Assert.Equal(3, harness.Sink.Items(OtlpSignal.Traces));
        Assert.Equal("default", harness.Sink.LastTenant);
        Assert.Equal("anonymous", harness.Sink.LastIdentity);
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task An_http_export_without_a_client_certificate_is_ok_as_anonymous_default(string version)
    {
        using var pki = new ReceiverTestPki();
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(pki, tls: pki.Tls(mutual: false), loggerFactory: loggerFactory);
        using HttpClient client = harness.CreateClient(clientCertificate: null);
        using var request = ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), OtlpTestData.Traces(4), "application/x-protobuf", version: Version.Parse(version));

        using HttpResponseMessage response = await client.SendAsync(request);

        Assert.Empty(logs.Exceptions);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Version.Parse(version), response.Version);
        Assert.Equal(4, harness.Sink.Items(OtlpSignal.Traces));
        Assert.Equal("default", harness.Sink.LastTenant);
        Assert.Equal("anonymous", harness.Sink.LastIdentity);
    }
}
