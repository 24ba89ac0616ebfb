using System.Security.Cryptography.X509Certificates;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Identity;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Tls;
using TraceSeal.Pki;

namespace TraceSeal.Collector.Tests.Receivers;

/// <summary>The pure decision functions of the receivers: tenant matching, chain classification, wire helpers.</summary>
public sealed class ReceiverUnitTests
{
    [Theory]
    [InlineData("uri:spiffe://corp/ns/payments/*", "uri:spiffe://corp/ns/payments/sa/api", true)]
    [InlineData("uri:spiffe://corp/ns/payments/*", "uri:spiffe://corp/ns/Payments/sa/api", false)] // uri is case-sensitive
    [InlineData("uri:spiffe://corp/ns/payments/*", "dns:spiffe://corp/ns/payments/sa/api", false)] // kind must match
    [InlineData("spiffe://corp/*/sa/api", "uri:spiffe://corp/ns/payments/sa/api", false)] // no prefix: the CN only (issue 14)
    [InlineData("payments-*", "cn:payments-api", true)] // no prefix: the CN
    [InlineData("dns:*.payments.example", "dns:api.payments.example", true)]
    [InlineData("dns:*.PAYMENTS.example", "dns:api.payments.example", true)] // dns is case-insensitive
    [InlineData("dns:*.payments.example", "dns:payments.example", false)]
    [InlineData("cn:payments-*", "cn:payments-api", true)]
    [InlineData("cn:payments", "cn:payments-api", false)]
    [InlineData("*", "cn:anything", true)]
    [InlineData("a*b*c", "cn:axxbyyc", true)]
    [InlineData("a*b*c", "cn:axxbyy", false)]
    public void Patterns_admit_identities(string pattern, string identity, bool expected)
        => Assert.Equal(expected, TenantMatcher.Admits(pattern, identity));

    [Fact]
    public void First_matching_rule_wins_and_no_rules_means_default()
    {
        TenantRule[] rules =
        [
            new() { Tenant = "first", Identities = ["dns:*.example"] },
            new() { Tenant = "second", Identities = ["uri:spiffe://corp/*"] },
        ];
        string[] identities = ["cn:api", "dns:api.example", "uri:spiffe://corp/ns/a"];

        TenantDecision ruled = TenantMatcher.Resolve(rules, identities);
        TenantDecision unruled = TenantMatcher.Resolve([], identities);
        TenantDecision denied = TenantMatcher.Resolve(rules, ["cn:nobody"]);

        Assert.Equal(("first", "dns:api.example"), (ruled.Tenant, ruled.Identity));
        Assert.Equal(("default", "uri:spiffe://corp/ns/a"), (unruled.Tenant, unruled.Identity));
        Assert.False(denied.Admitted);
        Assert.Equal("cn:nobody", denied.Presented);
        Assert.Equal("dns:b", TenantMatcher.PreferredIdentity(["cn:a", "dns:b"]));
    }

    [Theory]
    [InlineData(X509ChainStatusFlags.UntrustedRoot, false, "untrusted_ca")]
    [InlineData(X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.NotTimeValid, false, "untrusted_ca")]
    [InlineData(X509ChainStatusFlags.NotTimeValid, false, "expired")]
    [InlineData(X509ChainStatusFlags.NotTimeValid, true, "not_yet_valid")]
    [InlineData(X509ChainStatusFlags.NotValidForUsage, false, "wrong_usage")]
    [InlineData(X509ChainStatusFlags.NotSignatureValid, false, "invalid_certificate")]
    public void Chain_status_is_classified(X509ChainStatusFlags flags, bool notYetValid, string expected)
        => Assert.Equal(expected, HandshakeFailures.Label(ClientCertificateValidator.Classify(flags, notYetValid)));

    [Fact]
    public void A_server_certificate_is_not_a_client_certificate()
    {
        using IssuedCertificate ca = DevPki.CreateCa("Unit CA");
        using IssuedCertificate server = DevPki.IssueServer(ca, "localhost", ["localhost"]);
        using IssuedCertificate client = DevPki.IssueClient(ca, "app");
        var trust = new X509Certificate2Collection(ca.Certificate);

        Assert.Null(ClientCertificateValidator.Validate(client.Certificate, trust, null));
        Assert.Equal(HandshakeFailure.WrongUsage, ClientCertificateValidator.Validate(server.Certificate, trust, null));
        Assert.Equal(HandshakeFailure.NoClientCertificate, ClientCertificateValidator.Validate(null, trust, null));
    }

    [Theory]
    [InlineData(new byte[0], "no_client_hello")]
    [InlineData(new byte[] { (byte)'P', (byte)'O', (byte)'S', (byte)'T' }, "not_tls")]
    [InlineData(new byte[] { 22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 2 }, "protocol_version")] // TLS 1.1 ClientHello
    [InlineData(new byte[] { 22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3 }, "other")] // TLS 1.2+ ClientHello
    public void Client_hellos_are_classified(byte[] head, string expected)
        => Assert.Equal(expected, HandshakeFailures.Label(ClientHelloSniffer.Classify(head, minWireVersion: 0x0303)));

    [Theory]
    [InlineData("200m", 200 * TimeSpan.TicksPerMillisecond)]
    [InlineData("1S", TimeSpan.TicksPerSecond)]
    [InlineData("5M", 5 * TimeSpan.TicksPerMinute)]
    [InlineData("100n", 1)]
    [InlineData("99999999u", 99999999 * 10L)]
    public void Grpc_timeouts_parse(string text, long ticks)
    {
        Assert.True(GrpcWire.TryParseTimeout(text, out TimeSpan timeout));
        Assert.Equal(ticks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("m")]
    [InlineData("123456789S")] // more than 8 digits
    [InlineData("12x")]
    [InlineData("-1S")]
    public void Bad_grpc_timeouts_are_ignored(string text) => Assert.False(GrpcWire.TryParseTimeout(text, out _));

    [Fact]
    public void Grpc_messages_are_percent_encoded()
    {
        Assert.Equal("plain text", GrpcWire.PercentEncode("plain text"));
        Assert.Equal("100%25 caf%C3%A9%0A", GrpcWire.PercentEncode("100% café\n"));
    }

    [Fact]
    public void The_status_table_marks_only_spec_retryable_failures_retryable()
    {
        for (int i = 0; i < OtlpStatusTable.Count; i++)
        {
            FailureStatus status = OtlpStatusTable.Get((ReceiveFailure)i);
            bool specRetryable = status.HttpStatus is 429 or 502 or 503 or 504;
            Assert.Equal(specRetryable, status.Retryable);
        }

        Assert.Equal(OtlpStatusTable.Count, Enum.GetValues<ReceiveFailure>().Length);
    }
}
