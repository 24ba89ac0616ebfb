using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Identity;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using TraceSeal.Pki;

namespace TraceSeal.Collector.Tests.Receivers.Hostile;

/// <summary>
/// Issue 14: a CN reached the terminal raw (<c>\r</c>, <c>ESC[2J</c>); every permission-denied request was an
/// Information line; <c>CN=evil, CN=acme-x</c> was admitted to acme; a bare pattern matched SAN names; a CN with NUL
/// was glob-matched. Valid certificates, all of them: the CA signed what the client asked for.
/// </summary>
public sealed class HostileIdentityTests : IAsyncLifetime
{
    private const string Protobuf = "application/x-protobuf";

    private static readonly TenantRule[] Rules =
    [
        new() { Tenant = "acme", Identities = ["cn:acme-*"] },
        new() { Tenant = "globex", Identities = ["globex"] }, // bare: the CN only
    ];

    private readonly ReceiverTestPki _pki = new();
    private readonly CapturingLoggerProvider _logs = new();
    private ILoggerFactory _loggers = null!;
    private ReceiverHarness _harness = null!;

    public async Task InitializeAsync()
    {
        _loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(_logs));
        _harness = await ReceiverHarness.StartAsync(_pki, tenants: Rules, loggerFactory: _loggers);
    }

    public async Task DisposeAsync()
    {
        await _harness.DisposeAsync();
        _loggers.Dispose();
        _pki.Dispose();
    }

    [Fact]
    public async Task control_characters_in_a_cn_are_refused_and_reach_the_log_and_the_client_escaped()
    {
        using X509Certificate2 certificate = HostileClient.IssueClient(_pki.Ca, Subject("acme-\r\n\u001b[2Jroot"));

        (HttpStatusCode status, string message) = await PostAsync(certificate);

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal(@"the client certificate's identity cn:acme-\x0D\x0A\x1B[2Jroot contains control characters; issue a certificate without them", message);
        Assert.Equal(0, _harness.Sink.Requests(OtlpSignal.Traces));
        Assert.Contains(_logs.Messages, m => m.Level == LogLevel.Warning && m.Text.Contains(@"cn:acme-\x0D\x0A\x1B[2Jroot", StringComparison.Ordinal));
        Assert.DoesNotContain(_logs.Messages, m => m.Text.Contains("acme-", StringComparison.Ordinal) && m.Text.Any(c => c < 0x20));
    }

    [Fact]
    public async Task a_nul_in_a_cn_is_refused_not_glob_matched()
    {
        using X509Certificate2 certificate = HostileClient.IssueClient(_pki.Ca, Subject("acme-x\0evil"));

        (HttpStatusCode status, string message) = await PostAsync(certificate);

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains(@"cn:acme-x\x00evil contains control characters", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task a_certificate_with_two_cns_is_refused_whichever_one_a_rule_would_match()
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName("evil");
        builder.AddCommonName("acme-x");
        using X509Certificate2 certificate = HostileClient.IssueClient(_pki.Ca, builder.Build());

        (HttpStatusCode status, string message) = await PostAsync(certificate);

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.StartsWith("the client certificate's subject has 2 CN attributes (", message, StringComparison.Ordinal);
        Assert.Equal(0, _harness.Sink.Requests(OtlpSignal.Traces));
    }

    [Fact]
    public async Task a_bare_pattern_matches_the_cn_only_never_a_san()
    {
        using IssuedCertificate byDns = DevPki.IssueClient(_pki.Ca, "someone-else", dnsNames: ["globex"]);
        using IssuedCertificate byCn = DevPki.IssueClient(_pki.Ca, "globex");

        (HttpStatusCode dnsStatus, string dnsMessage) = await PostAsync(byDns.Certificate);
        (HttpStatusCode cnStatus, _) = await PostAsync(byCn.Certificate);

        Assert.Equal(HttpStatusCode.Forbidden, dnsStatus);
        Assert.Equal("no tenant rule admits the client identities: cn:someone-else, dns:globex", dnsMessage);
        Assert.Equal(HttpStatusCode.OK, cnStatus);
        Assert.Equal("globex", _harness.Sink.LastTenant);
    }

    [Fact]
    public async Task repeated_refusals_of_one_identity_are_one_warning_a_minute_and_an_exact_counter()
    {
        using IssuedCertificate stranger = DevPki.IssueClient(_pki.Ca, "stranger");
        using HttpClient client = _harness.CreateClient(stranger.Certificate);
        long before = _harness.Receiver.Counters.Refused(ReceiveFailure.PermissionDenied);

        for (int i = 0; i < 50; i++)
        {
            using HttpResponseMessage response = await client.SendAsync(ReceiverHarness.HttpPost(_harness.HttpUri("/v1/traces"), OtlpTestData.Traces(1), Protobuf));
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        Assert.Equal(50, _harness.Receiver.Counters.Refused(ReceiveFailure.PermissionDenied) - before);
        Assert.Single(_logs.Messages, m => m.Level == LogLevel.Warning && m.Text.Contains("cn:stranger", StringComparison.Ordinal));
        Assert.Equal(49, _logs.Messages.Count(m => m.Level == LogLevel.Debug && m.Text.Contains("permission_denied: no tenant rule admits the client identities: cn:stranger", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("globex", "cn:globex", true)]
    [InlineData("globex", "dns:globex", false)]
    [InlineData("globex", "uri:globex", false)]
    [InlineData("dns:globex", "dns:globex", true)]
    [InlineData("uri:spiffe://corp/*", "uri:spiffe://corp/ns/a", true)]
    [InlineData("cn:acme-*", "cn:acme-x", true)]
    public void prefixes_say_what_a_pattern_matches(string pattern, string identity, bool expected)
        => Assert.Equal(expected, TenantMatcher.Admits(pattern, identity));

    [Fact]
    public void identities_are_escaped_before_they_are_shown()
    {
        Assert.Equal("cn:plain-name.example", IdentityText.Escape("cn:plain-name.example"));
        Assert.Equal(@"cn:a\x0D\x0Ab\x1B[2J\x00\x7F\x9B\x5C", IdentityText.Escape("cn:a\r\nb\u001b[2J\0\u007f\u009b\\"));
        Assert.Equal(@"cn:\u202Egnp.exe", IdentityText.Escape("cn:\u202Egnp.exe")); // bidi override
        Assert.Equal("cn:Zürich", IdentityText.Escape("cn:Zürich"));
    }

    private static X500DistinguishedName Subject(string commonName)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName(commonName);
        return builder.Build();
    }

    private async Task<(HttpStatusCode Status, string Message)> PostAsync(X509Certificate2 certificate)
    {
        using HttpClient client = _harness.CreateClient(certificate);
        using HttpResponseMessage response = await client.SendAsync(ReceiverHarness.HttpPost(_harness.HttpUri("/v1/traces"), OtlpTestData.Traces(1), Protobuf));
        byte[] body = await response.Content.ReadAsByteArrayAsync();
        return (response.StatusCode, response.IsSuccessStatusCode ? "" : Google.Rpc.Status.Parser.ParseFrom(body).Message);
    }
}
