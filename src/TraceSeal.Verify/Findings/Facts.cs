using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Verify.Findings;

internal static class Facts
{
    public static CertificateFact Of(string source, X509Certificate2 certificate) => new(
        source,
        certificate.GetNameInfo(X509NameType.SimpleName, false),
        new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero),
        new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero));
}
