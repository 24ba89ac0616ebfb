using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Pki.Tests;

public class DevPkiIssueTests
{
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    [Fact]
    public void CaIsSelfSignedCriticalCaWithCertSignUsage()
    {
        using IssuedCertificate ca = DevPki.CreateCa();
        X509Certificate2 cert = ca.Certificate;

        Assert.True(cert.HasPrivateKey);
        Assert.Equal("CN=TraceSeal Dev CA", cert.Subject);
        Assert.Equal(cert.Subject, cert.Issuer);
        var constraints = Assert.Single(cert.Extensions.OfType<X509BasicConstraintsExtension>());
        Assert.True(constraints.CertificateAuthority);
        Assert.True(constraints.Critical);
        var usage = Assert.Single(cert.Extensions.OfType<X509KeyUsageExtension>());
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, usage.KeyUsages);
        Assert.InRange((cert.NotAfter - cert.NotBefore).TotalDays, 5 * 365 - 1, 5 * 365 + 1);
        Assert.Equal(16, cert.GetSerialNumber().Length);
        ChainAssert.Valid(cert, cert);
    }

    [Fact]
    public void ServerCertificateChainsAndCarriesDnsAndIpSans()
    {
        using IssuedCertificate ca = DevPki.CreateCa();
        using IssuedCertificate server = DevPki.IssueServer(ca, "collector", ["localhost", "127.0.0.1", "::1", "collector.internal"]);
        X509Certificate2 cert = server.Certificate;

        ChainAssert.Valid(cert, ca.Certificate);
        var san = Assert.Single(cert.Extensions.OfType<X509SubjectAlternativeNameExtension>());
        Assert.Equal(["localhost", "collector.internal"], san.EnumerateDnsNames());
        Assert.Equal([IPAddress.Loopback, IPAddress.IPv6Loopback], san.EnumerateIPAddresses());
        Assert.True(cert.MatchesHostname("collector.internal"));
        Assert.True(cert.MatchesHostname("127.0.0.1"));
        Assert.False(cert.MatchesHostname("other.internal"));

        var eku = Assert.Single(cert.Extensions.OfType<X509EnhancedKeyUsageExtension>());
        Assert.Equal([ServerAuth], eku.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value));
        Assert.False(Assert.Single(cert.Extensions.OfType<X509BasicConstraintsExtension>()).CertificateAuthority);
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, Assert.Single(cert.Extensions.OfType<X509KeyUsageExtension>()).KeyUsages);
        Assert.InRange((cert.NotAfter - cert.NotBefore).TotalDays, 364, 366);
    }

    [Fact]
    public void LeafAuthorityKeyIdentifierIsTheCaSubjectKeyIdentifier()
    {
        using IssuedCertificate ca = DevPki.CreateCa();
        using IssuedCertificate client = DevPki.IssueClient(ca, "app");
        var caSki = Assert.Single(ca.Certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>());
        var aki = Assert.Single(client.Certificate.Extensions.OfType<X509AuthorityKeyIdentifierExtension>());
        Assert.Equal(caSki.SubjectKeyIdentifierBytes.ToArray(), aki.KeyIdentifier!.Value.ToArray());
        Assert.Single(client.Certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>());
    }

    [Fact]
    public void ClientCertificateHasClientAuthAndUriSan()
    {
        using IssuedCertificate ca = DevPki.CreateCa();
        using IssuedCertificate client = DevPki.IssueClient(ca, "payments-api", ["api.payments.svc"], ["spiffe://corp/ns/payments/sa/api"]);

        ChainAssert.Valid(client.Certificate, ca.Certificate);
        var eku = Assert.Single(client.Certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>());
        Assert.Equal([ClientAuth], eku.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value));
        Assert.Equal(
            ["cn:payments-api", "dns:api.payments.svc", "uri:spiffe://corp/ns/payments/sa/api"],
            CertificateIdentity.From(client.Certificate));
    }

    [Fact]
    public void ServerWithoutHostsIsRefused()
    {
        using IssuedCertificate ca = DevPki.CreateCa();
        var error = Assert.Throws<ArgumentException>(() => DevPki.IssueServer(ca, "x", []));
        Assert.Contains("at least one host", error.Message);
    }

    [Fact]
    public void LeafCannotBeUsedAsIssuer()
    {
        using IssuedCertificate ca = DevPki.CreateCa();
        using IssuedCertificate leaf = DevPki.IssueClient(ca, "app");
        var error = Assert.Throws<ArgumentException>(() => DevPki.IssueClient(leaf, "other"));
        Assert.Contains("not a CA", error.Message);
    }

    [Theory]
    [InlineData(KeyAlgorithm.Rsa2048, 2048)]
    [InlineData(KeyAlgorithm.Rsa3072, 3072)]
    [InlineData(KeyAlgorithm.Rsa4096, 4096)]
    public void RsaVariantsChainAndUseKeyEncipherment(KeyAlgorithm algorithm, int bits)
    {
        using IssuedCertificate ca = DevPki.CreateCa(algorithm: algorithm);
        using IssuedCertificate server = DevPki.IssueServer(ca, "s", ["localhost"], algorithm);

        ChainAssert.Valid(server.Certificate, ca.Certificate);
        using RSA? key = server.Certificate.GetRSAPrivateKey();
        Assert.Equal(bits, key!.KeySize);
        Assert.Equal(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment,
            Assert.Single(server.Certificate.Extensions.OfType<X509KeyUsageExtension>()).KeyUsages);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", server.PrivateKeyPem);
    }

    [Fact]
    public void MixedAlgorithmsChain()
    {
        using IssuedCertificate ca = DevPki.CreateCa(algorithm: KeyAlgorithm.EcdsaP384);
        using IssuedCertificate rsaLeaf = DevPki.IssueClient(ca, "a", algorithm: KeyAlgorithm.Rsa2048);
        using IssuedCertificate rsaCa = DevPki.CreateCa(algorithm: KeyAlgorithm.Rsa2048);
        using IssuedCertificate ecLeaf = DevPki.IssueClient(rsaCa, "b");

        ChainAssert.Valid(rsaLeaf.Certificate, ca.Certificate);
        Assert.Equal("1.2.840.10045.4.3.3", rsaLeaf.Certificate.SignatureAlgorithm.Value); // ecdsa-with-SHA384
        ChainAssert.Valid(ecLeaf.Certificate, rsaCa.Certificate);
    }

    [Fact]
    public void ExpiredCertificateFailsTheChainWithNotTimeValid()
    {
        using IssuedCertificate ca = DevPki.CreateCa();
        using IssuedCertificate old = DevPki.IssueClient(ca, "old", notBefore: DateTimeOffset.UtcNow.AddDays(-10), validity: TimeSpan.FromDays(1));

        Assert.True(old.Certificate.NotAfter < DateTime.Now);
        Assert.True(ChainAssert.Build(old.Certificate, ca.Certificate).HasFlag(X509ChainStatusFlags.NotTimeValid));
    }

    [Fact]
    public void LeafValidityIsClampedToTheCa()
    {
        using IssuedCertificate ca = DevPki.CreateCa(validity: TimeSpan.FromDays(30));
        using IssuedCertificate leaf = DevPki.IssueClient(ca, "app");
        Assert.Equal(ca.Certificate.NotAfter, leaf.Certificate.NotAfter);
    }

    [Fact]
    public void SerialNumbersDiffer()
    {
        using IssuedCertificate ca = DevPki.CreateCa();
        using IssuedCertificate a = DevPki.IssueClient(ca, "a");
        using IssuedCertificate b = DevPki.IssueClient(ca, "a");
        Assert.NotEqual(a.Certificate.SerialNumber, b.Certificate.SerialNumber);
    }
}
