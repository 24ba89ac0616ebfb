using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using TraceSeal.Pki;

namespace TraceSeal.Collector.Tests.Exporters;

/// <summary>Forwarding through a real TraceSeal receiver over mutual TLS, and the TLS refusals.</summary>
public sealed class OtlpForwardingExporterTests : IAsyncLifetime
{
    private readonly ReceiverTestPki _pki = new();
    private ReceiverHarness _upstream = null!;

    public async Task InitializeAsync() => _upstream = await ReceiverHarness.StartAsync(_pki);

    public async Task DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _pki.Dispose();
    }

    [Theory]
    [InlineData(true, "gzip")]
    [InlineData(true, "none")]
    [InlineData(false, "gzip")]
    [InlineData(false, "none")]
    public async Task Traces_metrics_and_logs_arrive_upstream_over_mutual_tls_with_exact_counts(bool grpc, string compression)
    {
        OtlpExporterProtocol protocol = grpc ? OtlpExporterProtocol.Grpc : OtlpExporterProtocol.Http;
        await using var exporter = ExporterTestSupport.Create(ExporterTestSupport.Settings(protocol, Endpoint(protocol), ExporterTestSupport.MutualTls(_pki), compression));
        await exporter.StartAsync(CancellationToken.None);

        Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, 7)).Accepted);
        Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Metrics, 5)).Accepted);
        Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Logs, 3)).Accepted);

        Assert.Equal(7, _upstream.Sink.Items(OtlpSignal.Traces));
        Assert.Equal(5, _upstream.Sink.Items(OtlpSignal.Metrics));
        Assert.Equal(3, _upstream.Sink.Items(OtlpSignal.Logs));
        Assert.Equal(3, _upstream.Receiver.Counters.RequestsAccepted);
        Assert.Equal("uri:" + ReceiverTestPki.ClientSpiffeId, _upstream.Sink.LastIdentity); // our client certificate
        Assert.Equal(15, exporter.Counters.Sent);
        Assert.Equal(3, exporter.Counters.Attempts);
        Assert.Equal(0, exporter.Counters.Failed + exporter.Counters.Retried);
        Assert.False(exporter.IsFailing);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_server_certificate_from_another_ca_is_refused_and_nothing_is_delivered(bool grpc)
    {
        OtlpExporterProtocol protocol = grpc ? OtlpExporterProtocol.Grpc : OtlpExporterProtocol.Http;
        using var otherPki = new ReceiverTestPki();
        var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var settings = ExporterTestSupport.Settings(protocol, Endpoint(protocol), ExporterTestSupport.MutualTls(_pki, caFile: otherPki.CaPath), retry: OneAttempt);
        await using var exporter = ExporterTestSupport.Create(settings, loggers);

        SinkResult result = await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, 7);

        Assert.False(result.Accepted);
        Assert.True(result.Retryable);
        Assert.Equal(OtlpForwardingExporter.ClientRetryAfter, result.RetryAfter);
        Assert.Equal("upstream unavailable", result.Reason);
        Assert.Equal(0, _upstream.Sink.Requests(OtlpSignal.Traces));
        Assert.Equal(0, _upstream.Receiver.Counters.RequestsAccepted);
        Assert.True(exporter.IsFailing);
        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Error && m.Text.Contains(
            $"exporter {settings.Name}: refused the upstream's TLS certificate: the upstream's certificate \"CN=localhost\" (issuer \"CN=Receiver Test CA\") does not chain to tls::ca_file {otherPki.CaPath}: ",
            StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_certificate_not_issued_for_the_server_name_is_refused()
    {
        var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var settings = ExporterTestSupport.Settings(OtlpExporterProtocol.Http, Endpoint(OtlpExporterProtocol.Http), ExporterTestSupport.MutualTls(_pki, serverNameOverride: "collector.other.example"), retry: OneAttempt);
        await using var exporter = ExporterTestSupport.Create(settings, loggers);

        Assert.False((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, 1)).Accepted);
        Assert.Equal(0, _upstream.Receiver.Counters.RequestsAccepted);
        Assert.Contains(logs.Messages, m => m.Text.Contains("is not valid for \"collector.other.example\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Server_name_override_is_the_name_verified()
    {
        // Dialled by IP; the certificate also names localhost, which the override asks for.
        var settings = ExporterTestSupport.Settings(OtlpExporterProtocol.Grpc, Endpoint(OtlpExporterProtocol.Grpc), ExporterTestSupport.MutualTls(_pki, serverNameOverride: "localhost"));
        await using var exporter = ExporterTestSupport.Create(settings);
        Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, 2)).Accepted);
        Assert.Equal(2, _upstream.Sink.Items(OtlpSignal.Traces));
    }

    [Fact]
    public async Task The_client_certificate_is_reloaded_when_its_files_change()
    {
        TlsClientSettings tls = ExporterTestSupport.MutualTls(_pki);
        await using var exporter = ExporterTestSupport.Create(ExporterTestSupport.Settings(OtlpExporterProtocol.Grpc, Endpoint(OtlpExporterProtocol.Grpc), tls));
        Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, 1)).Accepted);
        Assert.Equal("uri:" + ReceiverTestPki.ClientSpiffeId, _upstream.Sink.LastIdentity);

        using (IssuedCertificate rotated = DevPki.IssueClient(_pki.Ca, "rotated-client", null, ["spiffe://corp/ns/payments/sa/rotated"]))
        {
            rotated.WriteFiles(tls.CertFile!, tls.KeyFile!);
        }

        Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, 1)).Accepted);
        Assert.Equal("uri:spiffe://corp/ns/payments/sa/rotated", _upstream.Sink.LastIdentity);
        Assert.Equal(1, exporter.Clients.Generation);
        Assert.Equal(2, _upstream.Sink.Items(OtlpSignal.Traces));
    }

    [Fact]
    public void A_plaintext_endpoint_without_insecure_is_a_construction_error()
    {
        var settings = ExporterTestSupport.Settings(OtlpExporterProtocol.Http, "http://127.0.0.1:4318", new TlsClientSettings());
        var error = Assert.Throws<InvalidOperationException>(() => ExporterTestSupport.Create(settings));
        Assert.Equal("exporters::otlphttp::endpoint: http:// sends telemetry in plaintext; use https://, or set tls::insecure: true to opt out explicitly", error.Message);
    }

    [Fact]
    public void Insecure_with_a_tls_endpoint_is_a_construction_error()
    {
        var settings = ExporterTestSupport.Settings(OtlpExporterProtocol.Grpc, "collector.internal:4317", new TlsClientSettings { Insecure = true });
        var error = Assert.Throws<InvalidOperationException>(() => ExporterTestSupport.Create(settings));
        Assert.StartsWith("exporters::otlp::tls::insecure: true sends telemetry in plaintext", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_ca_file_names_the_key()
    {
        var settings = ExporterTestSupport.Settings(OtlpExporterProtocol.Grpc, "collector.internal:4317", new TlsClientSettings { CaFile = Path.Combine(_pki.Dir, "missing.crt") });
        var error = Assert.Throws<InvalidOperationException>(() => ExporterTestSupport.Create(settings));
        Assert.StartsWith($"exporters::otlp::tls::ca_file: cannot read {_pki.Dir}/missing.crt", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A TLS refusal is retryable (the upstream may rotate its certificate); one attempt keeps these tests quick.</summary>
    private static RetrySettings OneAttempt => new() { Enabled = false };

    private string Endpoint(OtlpExporterProtocol protocol) => protocol == OtlpExporterProtocol.Grpc
        ? $"127.0.0.1:{_upstream.Receiver.GrpcEndpoint!.Port}"
        : $"https://127.0.0.1:{_upstream.Receiver.HttpEndpoint!.Port}";
}
