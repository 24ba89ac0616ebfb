using System.Net;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using TraceSeal.Pki;

namespace TraceSeal.Collector.Tests.Receivers.Hostile;

/// <summary>
/// Issue 14: one tenant could take all capacity from the others. A tenant over its quota gets retryable refusals
/// (HTTP 429 + Retry-After, gRPC RESOURCE_EXHAUSTED + RetryInfo) while another tenant is served untouched, and
/// the refused tenant is served again once its bucket refills.
/// </summary>
public sealed class TenantQuotaTests : IDisposable
{
    private const string Protobuf = "application/x-protobuf";
    private const string TraceExport = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

    private readonly ReceiverTestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task a_tenant_over_its_request_quota_is_refused_retryably_and_another_tenant_is_unaffected()
    {
        using IssuedCertificate acme = DevPki.IssueClient(_pki.Ca, "acme-api");
        using IssuedCertificate globex = DevPki.IssueClient(_pki.Ca, "globex-api");
        TenantRule[] tenants =
        [
            new() { Tenant = "acme", Identities = ["cn:acme-*"], Quota = new TenantQuotaSettings { RequestsPerSecond = 5 } },
            new() { Tenant = "globex", Identities = ["cn:globex-*"] },
        ];
        await using ReceiverHarness harness = await ReceiverHarness.StartAsync(_pki, tenants: tenants);
        using HttpClient acmeClient = harness.CreateClient(acme.Certificate);
        using HttpClient globexClient = harness.CreateClient(globex.Certificate);

        // 40 requests at once from each tenant: acme's bucket holds 5 (one second of its rate).
        Task<HttpResponseMessage>[] acmeCalls = [.. Enumerable.Range(0, 40).Select(_ => acmeClient.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), OtlpTestData.Traces(1), Protobuf)))];
        Task<HttpResponseMessage>[] globexCalls = [.. Enumerable.Range(0, 40).Select(_ => globexClient.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), OtlpTestData.Traces(1), Protobuf)))];
        HttpResponseMessage[] acmeResponses = await Task.WhenAll(acmeCalls);
        HttpResponseMessage[] globexResponses = await Task.WhenAll(globexCalls);

        Assert.All(globexResponses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        HttpResponseMessage[] refused = [.. acmeResponses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests)];
        Assert.InRange(acmeResponses.Count(r => r.StatusCode == HttpStatusCode.OK), 5, 10); // 5, plus what refilled meanwhile
        Assert.Equal(40, refused.Length + acmeResponses.Count(r => r.StatusCode == HttpStatusCode.OK));
        HttpResponseMessage first = refused[0];
        Assert.NotNull(first.Headers.RetryAfter?.Delta);
        Assert.InRange(first.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        var status = Google.Rpc.Status.Parser.ParseFrom(await first.Content.ReadAsByteArrayAsync());
        Assert.Equal(GrpcCodes.ResourceExhausted, status.Code);
        Assert.Equal("tenant acme is over its quota of 5 requests per second; retry after the delay given", status.Message);
        Assert.InRange(status.Details.Single().Unpack<Google.Rpc.RetryInfo>().RetryDelay.ToTimeSpan(), TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1));
        Assert.Equal(refused.Length, harness.Receiver.Counters.Refused(ReceiveFailure.TenantQuotaExceeded));

        // gRPC: the same refusal, RESOURCE_EXHAUSTED with RetryInfo (the OTLP spec's retryable form of that code).
        GrpcResult grpc;
        int attempts = 0;
        do
        {
            grpc = await ReceiverHarness.SendGrpcAsync(acmeClient, ReceiverHarness.GrpcPost(harness.GrpcUri(TraceExport), OtlpTestData.GrpcFrame(OtlpTestData.Traces(1))));
        }
        while (grpc.GrpcStatus == GrpcCodes.Ok && ++attempts < 50);
        Assert.Equal(GrpcCodes.ResourceExhausted, grpc.GrpcStatus);
        Assert.Single(grpc.Details!.Details, d => d.Is(Google.Rpc.RetryInfo.Descriptor));

        // A client that honours the delay is served again.
        HttpStatusCode again = HttpStatusCode.TooManyRequests;
        for (int i = 0; i < 10 && again != HttpStatusCode.OK; i++)
        {
            await Task.Delay(first.Headers.RetryAfter.Delta.Value); // what an OTLP client does with Retry-After
            using HttpResponseMessage retried = await acmeClient.SendAsync(ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), OtlpTestData.Traces(1), Protobuf));
            again = retried.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, again);
        foreach (HttpResponseMessage r in acmeResponses.Concat(globexResponses))
        {
            r.Dispose();
        }
    }

    [Fact]
    public void a_byte_quota_lets_one_large_request_through_and_then_refuses_until_the_debt_is_paid()
    {
        var time = new ManualTimeProvider();
        var settings = new OtlpReceiverSettings
        {
            Name = "otlp",
            Tenants = [new TenantRule { Tenant = "acme", Identities = ["cn:acme"], Quota = new TenantQuotaSettings { BytesPerSecond = 10_000, ItemsPerSecond = 1000 } }],
        };
        var quotas = new TenantQuotas(settings, time);

        Assert.Null(quotas.TryAdmit("acme"));
        quotas.Charge("acme", bytes: 100_000, items: 10); // ten seconds' worth in one request: admitted, now in debt
        QuotaRefusal? refused = quotas.TryAdmit("acme");
        Assert.NotNull(refused);
        Assert.InRange(refused.Value.RetryAfter, TimeSpan.FromSeconds(8.999), TimeSpan.FromSeconds(9.001));
        Assert.Contains("10000 bytes per second", refused.Value.Message, StringComparison.Ordinal);

        time.Advance(TimeSpan.FromSeconds(8.9));
        Assert.NotNull(quotas.TryAdmit("acme"));
        time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Null(quotas.TryAdmit("acme"));

        // Items: 2000 items in one request at 1000/s.
        quotas.Charge("acme", bytes: 0, items: 2000);
        Assert.Contains("1000 items per second", quotas.TryAdmit("acme")!.Value.Message, StringComparison.Ordinal);

        // A tenant without a quota (and an unknown one) is never refused.
        Assert.Null(quotas.TryAdmit("globex"));
    }

    [Fact]
    public void limits_tenant_quota_applies_to_rules_without_their_own_and_to_the_default_tenant()
    {
        var time = new ManualTimeProvider();
        var fallback = new TenantQuotaSettings { RequestsPerSecond = 2 };
        var ruled = new TenantQuotas(new OtlpReceiverSettings
        {
            Name = "otlp",
            Limits = new ReceiverLimitSettings { TenantQuota = fallback },
            Tenants = [new TenantRule { Tenant = "acme", Identities = ["cn:acme"] }, new TenantRule { Tenant = "vip", Identities = ["cn:vip"], Quota = new TenantQuotaSettings { RequestsPerSecond = 100 } }],
        }, time);
        var unruled = new TenantQuotas(new OtlpReceiverSettings { Name = "otlp", Limits = new ReceiverLimitSettings { TenantQuota = fallback } }, time);

        Assert.Equal(2, Enumerable.Range(0, 10).Count(_ => ruled.TryAdmit("acme") is null));
        Assert.Equal(10, Enumerable.Range(0, 10).Count(_ => ruled.TryAdmit("vip") is null));
        Assert.Equal(2, Enumerable.Range(0, 10).Count(_ => unruled.TryAdmit("default") is null));
    }
}
