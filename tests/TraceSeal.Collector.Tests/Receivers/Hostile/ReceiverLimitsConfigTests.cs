using TraceSeal.Collector.Config;
using TraceSeal.Collector.Tests.Config;

namespace TraceSeal.Collector.Tests.Receivers.Hostile;

/// <summary>The keys issue 14 adds to the `otlp` receiver: their defaults, their parsing, their exact errors.</summary>
public sealed class ReceiverLimitsConfigTests : IDisposable
{
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
