using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Pki.Tests;

public class IdentityTests
{
    [Fact]
    public void ExtractsCnDnsAndSpiffeUri()
    {
        using IssuedCertificate ca = DevPki.CreateCa();
        using IssuedCertificate client = DevPki.IssueClient(ca, "api", ["API.Payments.svc", "api.payments.svc"], ["spiffe://corp/ns/payments/sa/api", "https://example.com/Case"]);

        Assert.Equal(
            ["cn:api", "dns:api.payments.svc", "uri:spiffe://corp/ns/payments/sa/api", "uri:https://example.com/Case"],
            CertificateIdentity.From(client.Certificate));
    }

    [Fact]
    public void IgnoresIpAndEmailSansAndOtherSubjectAttributes()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=svc, O=Corp, OU=CN=not-a-cn", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        san.AddEmailAddress("ops@corp.example");
        san.AddUserPrincipalName("ops@corp");
        san.AddDnsName("svc.corp");
        request.CertificateExtensions.Add(san.Build());
        using X509Certificate2 cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));

        Assert.Equal(["cn:svc", "dns:svc.corp"], CertificateIdentity.From(cert));
    }

    [Fact]
    public void CertificateWithoutSanYieldsOnlyTheCn()
    {
        using IssuedCertificate ca = DevPki.CreateCa("Only CN");
        Assert.Equal(["cn:Only CN"], CertificateIdentity.From(ca.Certificate));
    }
}
