using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Pki;

/// <summary>The X.509 extensions of our two profiles: a CA that signs leaves only, and TLS leaves.</summary>
internal static class CertificateProfile
{
    public static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1", "Server Authentication");
    public static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    public static void AddCaExtensions(CertificateRequest request)
    {
        // pathLen 0: this CA signs leaves, never another CA, so a leaked leaf key cannot mint certificates.
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        var ski = new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false);
        request.CertificateExtensions.Add(ski);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(ski));
    }

    public static void AddLeafExtensions(CertificateRequest request, X509Certificate2 issuer, Oid eku, bool rsaKey, X509Extension? subjectAltName)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));

        // keyEncipherment only for RSA: TLS 1.2 RSA key exchange needs it; for ECDSA it is meaningless.
        X509KeyUsageFlags usage = X509KeyUsageFlags.DigitalSignature | (rsaKey ? X509KeyUsageFlags.KeyEncipherment : X509KeyUsageFlags.None);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([eku], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        // A CA made elsewhere may lack a subject key identifier; then name it by issuer and serial instead.
        bool issuerHasSki = issuer.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Any();
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: issuerHasSki, includeIssuerAndSerial: !issuerHasSki));
        if (subjectAltName is not null)
        {
            request.CertificateExtensions.Add(subjectAltName);
        }
    }
}
