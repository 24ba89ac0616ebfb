using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TraceSeal.Pki;
using TraceSeal.Verify.Endpoint;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Tests;

public sealed class CertificateChecksTests
{
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(100, "Pass")]
    [InlineData(29, "Warn")]
    [InlineData(6, "Fail")]
    [InlineData(-1, "Fail")]
    public void Expiry_WarnsUnder30Days_FailsUnder7(int daysLeft, string expected)
    {
        using var ca = DevPki.CreateCa(notBefore: Start);
        using var leaf = DevPki.IssueServer(ca, "s", ["localhost"], validity: TimeSpan.FromDays(200), notBefore: Start);
        var now = Start + TimeSpan.FromDays(200 - daysLeft);

        Assert.Equal(Enum.Parse<Outcome>(expected), CertificateChecks.Expiry(leaf.Certificate, now).Outcome);
    }

    [Fact]
    public void NotYetValid_Fails()
    {
        using var ca = DevPki.CreateCa(notBefore: Start);
        using var leaf = DevPki.IssueServer(ca, "s", ["localhost"], notBefore: Start);
        var result = CertificateChecks.Expiry(leaf.Certificate, Start - TimeSpan.FromDays(1));
        Assert.Equal(Outcome.Fail, result.Outcome);
        Assert.Equal("not valid before 2030-01-01 00:00:00Z (check the clocks)", result.Message);
    }

    [Theory]
    [InlineData(KeyAlgorithm.EcdsaP256, "ECDSA P-256")]
    [InlineData(KeyAlgorithm.EcdsaP384, "ECDSA P-384")]
    [InlineData(KeyAlgorithm.Rsa2048, "RSA 2048")]
    public void KeyStrength_Accepted(KeyAlgorithm algorithm, string message)
    {
        using var ca = DevPki.CreateCa();
        using var leaf = DevPki.IssueServer(ca, "s", ["localhost"], algorithm);
        var result = CertificateChecks.KeyStrength(leaf.Certificate);
        Assert.Equal((Outcome.Pass, message), (result.Outcome, result.Message));
    }

    [Fact]
    public void KeyStrength_Rsa1024_Fails()
    {
        using var rsa = RSA.Create(1024);
        var request = new CertificateRequest("CN=weak", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var weak = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(90));
        var result = CertificateChecks.KeyStrength(weak);
        Assert.Equal((Outcome.Fail, "RSA 1024 is below 2048 bits"), (result.Outcome, result.Message));
    }

    [Fact]
    public void HostName_MatchesIpAndDnsSans_NotCn()
    {
        using var ca = DevPki.CreateCa();
        using var leaf = DevPki.IssueServer(ca, "cn-only.example", ["collector.internal", "10.0.0.5"]);
        Assert.Equal(Outcome.Pass, CertificateChecks.HostName(leaf.Certificate, "collector.internal").Outcome);
        Assert.Equal(Outcome.Pass, CertificateChecks.HostName(leaf.Certificate, "10.0.0.5").Outcome);
        Assert.Equal(Outcome.Fail, CertificateChecks.HostName(leaf.Certificate, "cn-only.example").Outcome);
    }

    [Fact]
    public void Chain_OnlyTheGivenCa_IsTrusted()
    {
        using var ca = DevPki.CreateCa("Right CA");
        using var other = DevPki.CreateCa("Other CA");
        using var leaf = DevPki.IssueServer(ca, "s", ["localhost"]);
        var now = DateTimeOffset.UtcNow;

        Assert.Equal(Outcome.Pass, CertificateChecks.Chain(leaf.Certificate, [], [ca.Certificate], now).Outcome);
        Assert.Equal(Outcome.Fail, CertificateChecks.Chain(leaf.Certificate, [], [other.Certificate], now).Outcome);
    }
}
