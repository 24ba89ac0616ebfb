namespace TraceSeal.Collector.Tests.Config;

/// <summary>One scenario, one cause, one exact message with its line and column (like the seeds' troubleshooting).</summary>
public sealed class ReceiverConfigErrorTests : IDisposable
{
    // Appended after the lines under test, so it never shifts their line numbers.
    private const string Service = """

        exporters:
          discard:
        service:
          pipelines:
            traces:
              receivers: [otlp]
              exporters: [discard]
        """;

    private readonly ConfigFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public void UnknownTlsKey_ListsTheSupportedKeys()
    {
        var errors = _f.Errors("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    tls:
                      cert_file: server.crt
                      key_file: server.key
                      client_ca: ca.crt
            """ + Service);

        Assert.Equal([_f.At(8, 11, "receivers::otlp::protocols::grpc::tls: unknown key \"client_ca\" (supported: cert_file, key_file, " +
            "ca_file, client_ca_file, min_version, max_version, cipher_suites, reload_interval, include_system_ca_certs_pool)")], errors);
    }

    [Fact]
    public void UnknownReceiverType_NamesTheSupportedOnes()
    {
        var errors = _f.Errors("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    allow_plaintext: true
              jaeger:
                protocols:
                  thrift_http:
            """ + Service);

        Assert.Equal([_f.At(6, 3, "receivers::jaeger: unknown receiver type \"jaeger\" (supported: otlp, nop)")], errors);
    }

    [Fact]
    public void ProtocolWithoutTls_IsRefused()
    {
        var errors = _f.Errors("""
            receivers:
              otlp:
                protocols:
                  http:
                    endpoint: 0.0.0.0:4318
            """ + Service);

        Assert.Equal([_f.At(4, 7, "receivers::otlp::protocols::http: no tls block: this receiver would accept plaintext; " +
            "add tls (cert_file, key_file, client_ca_file) or set allow_plaintext: true to opt out explicitly")], errors);
    }

    [Fact]
    public void AllowPlaintext_LoadsWithAWarning()
    {
        var config = _f.Parse("""
            receivers:
              otlp:
                protocols:
                  http:
                    allow_plaintext: true
            """ + Service);

        var http = config.Receivers[0].Http!;
        Assert.True(http.AllowPlaintext);
        Assert.Null(http.Tls);
        Assert.Equal("localhost:4318", http.Endpoint);
        Assert.Equal(
            [_f.At(5, 9, "receivers::otlp::protocols::http::allow_plaintext: plaintext opt-out: localhost:4318 accepts unencrypted, " +
                "unauthenticated telemetry; add tls to close it")],
            config.Warnings.Select(w => w.ToString()));
    }

    [Fact]
    public void TlsWithoutCertFile_IsRefused()
    {
        var errors = _f.Errors("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    tls:
                      key_file: server.key
                      client_ca_file: ca.crt
            """ + Service);

        Assert.Equal([_f.At(5, 9, "receivers::otlp::protocols::grpc::tls::cert_file: required when tls is set: " +
            "the server certificate (PEM) this receiver presents")], errors);
    }

    [Fact]
    public void EmptyTlsValues_FailClosedInsteadOfServingPlaintext()
    {
        var errors = _f.Errors("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    tls:
                      cert_file:
                      key_file: ~
                      client_ca_file: ca.crt
                  http:
                    tls:
            """ + Service);

        Assert.Equal(
            [
                _f.At(5, 9, "receivers::otlp::protocols::grpc::tls::cert_file: required when tls is set: the server certificate (PEM) this receiver presents"),
                _f.At(5, 9, "receivers::otlp::protocols::grpc::tls::key_file: required when tls is set: the private key (PEM) of cert_file"),
                _f.At(10, 9, "receivers::otlp::protocols::http::tls::cert_file: required when tls is set: the server certificate (PEM) this receiver presents"),
                _f.At(10, 9, "receivers::otlp::protocols::http::tls::key_file: required when tls is set: the private key (PEM) of cert_file"),
            ],
            errors);
    }

    [Fact]
    public void MissingClientCaFile_NamesThePathAndWhatItMustBe()
    {
        var errors = _f.Errors("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    tls:
                      cert_file: server.crt
                      key_file: server.key
                      client_ca_file: certs/missing-ca.crt
            """ + Service);

        Assert.Equal([_f.At(8, 27, $"receivers::otlp::protocols::grpc::tls::client_ca_file: file not found: {_f.Path("certs/missing-ca.crt")}; " +
            "mutual TLS needs the CA that signed your clients' certificates")], errors);
    }

    [Fact]
    public void BadMinVersion_IsRefused()
    {
        var errors = _f.Errors("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    tls:
                      cert_file: server.crt
                      key_file: server.key
                      client_ca_file: ca.crt
                      min_version: "1.4"
            """ + Service);

        Assert.Equal([_f.At(9, 24, "receivers::otlp::protocols::grpc::tls::min_version: unsupported TLS version \"1.4\" " +
            "(supported: 1.0, 1.1, 1.2, 1.3; use 1.2 or 1.3)")], errors);
    }

    [Fact]
    public void OldMinVersion_LoadsWithAWarning()
    {
        var config = _f.Parse("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    tls:
                      cert_file: server.crt
                      key_file: server.key
                      client_ca_file: ca.crt
                      min_version: 1.1
            """ + Service);

        Assert.Equal("1.1", config.Receivers[0].Grpc!.Tls!.MinVersion);
        Assert.Equal(
            [_f.At(9, 24, "receivers::otlp::protocols::grpc::tls::min_version: TLS 1.1 is deprecated (RFC 8996) and broken by known attacks; use 1.2 or 1.3")],
            config.Warnings.Select(w => w.ToString()));
    }

    [Fact]
    public void SystemCaPoolWithClientCaFile_IsRefused()
    {
        var errors = _f.Errors("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    tls:
                      cert_file: server.crt
                      key_file: server.key
                      client_ca_file: ca.crt
                      include_system_ca_certs_pool: true
            """ + Service);

        Assert.Equal([_f.At(9, 41, "receivers::otlp::protocols::grpc::tls::include_system_ca_certs_pool: true together with client_ca_file " +
            "would let any public CA issue accepted client certificates; remove it (TraceSeal trusts only client_ca_file for clients)")], errors);
    }

    [Fact]
    public void TlsWithoutClientCaFile_LoadsWithAServerOnlyWarning()
    {
        var config = _f.Parse("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    tls:
                      cert_file: server.crt
                      key_file: server.key
            """ + Service);

        Assert.Null(config.Receivers[0].Grpc!.Tls!.ClientCaFile);
        Assert.Equal(
            [_f.At(5, 9, "receivers::otlp::protocols::grpc::tls: server-only TLS: any client can send; set client_ca_file for mutual TLS")],
            config.Warnings.Select(w => w.ToString()));
    }

    [Fact]
    public void CustomUrlPath_IsNotSupportedYet()
    {
        var errors = _f.Errors("""
            receivers:
              otlp:
                protocols:
                  http:
                    allow_plaintext: true
                    traces_url_path: /ingest/traces
                    logs_url_path: v1/logs
            """ + Service);

        Assert.Equal([_f.At(6, 26, "receivers::otlp::protocols::http::traces_url_path: custom url paths are not supported yet; " +
            "remove traces_url_path (the path is /v1/traces)")], errors);
    }

    [Fact]
    public void UpstreamTuningKeys_AreAcceptedAndIgnored()
    {
        var config = _f.Parse("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    allow_plaintext: true
                    transport: tcp
                    max_recv_msg_size_mib: 16
                    max_concurrent_streams: 100
                    read_buffer_size: 524288
                    write_buffer_size: 524288
                    include_metadata: true
                    keepalive:
                      server_parameters:
                        max_connection_idle: 11s
                  http:
                    allow_plaintext: true
                    max_request_body_size: 1MiB
                    include_metadata: true
                    cors:
                      allowed_origins: ["https://*.example.com"]
                    traces_url_path: /v1/traces
            """ + Service);

        Assert.Equal(16L * 1024 * 1024, config.Receivers[0].Grpc!.MaxRequestBytes);
        Assert.Equal(1024L * 1024, config.Receivers[0].Http!.MaxRequestBytes);
    }

    [Fact]
    public void Tenants_AreParsedAndPatternsChecked()
    {
        var yaml = """
            receivers:
              otlp:
                protocols:
                  grpc:
                    allow_plaintext: true
                tenants:
                  - tenant: payments
                    identities: ["uri:spiffe://corp/ns/payments/*", "cn:payments-api"]
                  - tenant: ops
                    identities: [dns:]
            """ + Service;

        Assert.Equal([_f.At(10, 22, "receivers::otlp::tenants[1]::identities[0]: empty identity pattern after \"dns:\"; " +
            "write what to match, e.g. dns:api.corp.example")], _f.Errors(yaml));

        var config = _f.Parse(yaml.Replace("[dns:]", "[\"*\"]", StringComparison.Ordinal));
        var rules = config.Receivers[0].Tenants;
        Assert.Equal(["payments", "ops"], rules.Select(r => r.Tenant));
        Assert.Equal(["uri:spiffe://corp/ns/payments/*", "cn:payments-api"], rules[0].Identities);
    }

    // Issue 14: limits, max_decompression_ratio, quotas, and what a bare pattern means.

    [Fact]
    public void defaults_hold_when_the_keys_are_absent()
    {
        var receiver = _f.Parse("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    allow_plaintext: true
                  http:
                    allow_plaintext: true
            """ + Service).Receivers[0];

        Assert.Equal(4096, receiver.Limits.MaxConnections);
        Assert.Equal(256, receiver.Limits.MaxConnectionsPerAddress);
        Assert.Equal(TimeSpan.FromSeconds(130), receiver.Limits.IdleTimeout);
        Assert.Null(receiver.Limits.TenantQuota);
        Assert.Equal(100, receiver.Grpc!.MaxDecompressionRatio);
        Assert.Equal(100, receiver.Http!.MaxDecompressionRatio);
    }

    [Fact]
    public void limits_ratio_and_quotas_are_read()
    {
        var receiver = _f.Parse("""
            receivers:
              otlp:
                protocols:
                  http:
                    allow_plaintext: true
                    max_decompression_ratio: 50
                limits:
                  max_connections: 1000
                  max_connections_per_address: 0
                  idle_timeout: 30s
                  tenant_quota: { requests_per_second: 200, bytes_per_second: 10MiB }
                tenants:
                  - tenant: acme
                    identities: ["cn:acme-*"]
                    quota: { items_per_second: 50000 }
                  - tenant: globex
                    identities: [globex]
            """ + Service).Receivers[0];

        Assert.Equal((1000, 0, TimeSpan.FromSeconds(30)), (receiver.Limits.MaxConnections, receiver.Limits.MaxConnectionsPerAddress, receiver.Limits.IdleTimeout));
        Assert.Equal((200d, 10d * 1024 * 1024), (receiver.Limits.TenantQuota!.RequestsPerSecond, receiver.Limits.TenantQuota.BytesPerSecond));
        Assert.Equal(50, receiver.Http!.MaxDecompressionRatio);
        Assert.Equal(50000d, receiver.Tenants[0].Quota!.ItemsPerSecond);
        Assert.Null(receiver.Tenants[1].Quota);
    }

    [Fact]
    public void a_bare_pattern_that_looks_like_a_uri_is_an_error_naming_the_prefix_to_write()
    {
        var errors = _f.Errors("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    allow_plaintext: true
                tenants:
                  - tenant: payments
                    identities: ["spiffe://corp/ns/payments/*"]
            """ + Service);

        Assert.Equal([_f.At(8, 22, "receivers::otlp::tenants[0]::identities[0]: \"spiffe://corp/ns/payments/*\" has no prefix, so it would match the subject CN only; write uri:spiffe://corp/ns/payments/* to match SAN URIs (SPIFFE IDs)")], errors);
    }

    [Fact]
    public void an_empty_quota_and_unknown_limit_keys_are_errors()
    {
        var errors = _f.Errors("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    allow_plaintext: true
                limits:
                  max_streams: 10
                  tenant_quota: {}
            """ + Service);

        Assert.Equal(
            [
                _f.At(7, 7, "receivers::otlp::limits: unknown key \"max_streams\" (supported: max_connections, max_connections_per_address, idle_timeout, tenant_quota)"),
                _f.At(8, 7, "receivers::otlp::limits::tenant_quota: empty quota; set requests_per_second, bytes_per_second and/or items_per_second, or remove it"),
            ],
            errors);
    }
}
