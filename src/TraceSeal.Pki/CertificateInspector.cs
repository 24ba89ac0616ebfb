using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace TraceSeal.Pki;

/// <summary>Human-readable report behind `traceseal certs inspect FILE [--ca CA]`.</summary>
public static class CertificateInspector
{
    private static readonly Dictionary<string, string> EkuNames = new(StringComparer.Ordinal)
    {
        ["1.3.6.1.5.5.7.3.1"] = "serverAuth",
        ["1.3.6.1.5.5.7.3.2"] = "clientAuth",
        ["1.3.6.1.5.5.7.3.3"] = "codeSigning",
        ["1.3.6.1.5.5.7.3.4"] = "emailProtection",
        ["1.3.6.1.5.5.7.3.8"] = "timeStamping",
        ["1.3.6.1.5.5.7.3.9"] = "OCSPSigning",
    };

    /// <summary>Describes every certificate in <paramref name="certPath"/> (PEM bundle or a single DER
    /// certificate), how they link, and, with <paramref name="caPath"/>, whether the first one verifies
    /// against that CA alone (no system store, no revocation check).</summary>
    public static string Describe(string certPath, string? caPath = null) => Describe(certPath, caPath, DateTimeOffset.UtcNow);

    internal static string Describe(string certPath, string? caPath, DateTimeOffset now)
    {
        X509Certificate2Collection certificates = PemBundle.Load(certPath);
        try
        {
            var text = new StringBuilder();
            for (int i = 0; i < certificates.Count; i++)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"Certificate [{i + 1}/{certificates.Count}] in {certPath}");
                DescribeOne(text, certificates[i], now);
                text.AppendLine();
            }

            text.AppendLine("Chain in file: " + ChainReport.Links(certificates));
            if (caPath is not null)
            {
                X509Certificate2Collection roots = PemBundle.Load(caPath);
                try
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"Verification against {caPath}: {ChainReport.Verify(certificates, roots, now)}");
                }
                finally
                {
                    Dispose(roots);
                }
            }

            return text.ToString();
        }
        finally
        {
            Dispose(certificates);
        }
    }

    private static void DescribeOne(StringBuilder text, X509Certificate2 cert, DateTimeOffset now)
    {
        Line(text, "Subject", cert.Subject);
        Line(text, "Issuer", cert.Issuer);
        Line(text, "Serial", cert.SerialNumber);
        Line(text, "Key", KeyDescription(cert));
        Line(text, "Signature", cert.SignatureAlgorithm.FriendlyName ?? cert.SignatureAlgorithm.Value ?? "unknown");
        DateTimeOffset notBefore = new(cert.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        DateTimeOffset notAfter = new(cert.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        Line(text, "Not before", notBefore.ToString("u", CultureInfo.InvariantCulture) + (now < notBefore ? "  NOT YET VALID" : string.Empty));
        Line(text, "Not after", notAfter.ToString("u", CultureInfo.InvariantCulture) + "  " + Remaining(notAfter, now));

        var constraints = cert.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        Line(text, "CA", constraints switch
        {
            { CertificateAuthority: true, HasPathLengthConstraint: true } => $"yes (path length {constraints.PathLengthConstraint})",
            { CertificateAuthority: true } => "yes",
            _ => "no",
        });

        var usage = cert.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault();
        Line(text, "Key usage", usage is null ? "(none)" : usage.KeyUsages.ToString());
        var eku = cert.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault();
        Line(text, "Extended key usage", eku is null
            ? "(none: any purpose)"
            : string.Join(", ", eku.EnhancedKeyUsages.Cast<Oid>().Select(o => EkuNames.GetValueOrDefault(o.Value ?? string.Empty, o.Value ?? "?"))));

        IReadOnlyList<AltName> sans = SubjectAltNames.Read(cert);
        string noSans = constraints is { CertificateAuthority: true }
            ? "(none)"
            : "(none: clients that verify host names will reject this as a server certificate)";
        Line(text, "SANs", sans.Count == 0 ? noSans : string.Join(", ", sans));
        Line(text, "SHA-256", Convert.ToHexString(cert.GetCertHash(HashAlgorithmName.SHA256)).Chunk(2).Select(c => new string(c)).Aggregate((a, b) => a + ":" + b));
    }

    private static string Remaining(DateTimeOffset notAfter, DateTimeOffset now)
    {
        TimeSpan left = notAfter - now;
        if (left < TimeSpan.Zero)
        {
            TimeSpan ago = -left;
            return ago.TotalDays >= 1 ? $"EXPIRED {(int)ago.TotalDays} day(s) ago" : $"EXPIRED {(int)ago.TotalHours} hour(s) ago";
        }

        return $"({(int)left.TotalDays} days left)";
    }

    private static string KeyDescription(X509Certificate2 cert)
    {
        using (ECDsa? ec = cert.GetECDsaPublicKey())
        {
            if (ec is not null)
            {
                return ec.KeySize switch
                {
                    256 => "ECDSA P-256 (256 bits)",
                    384 => "ECDSA P-384 (384 bits)",
                    521 => "ECDSA P-521 (521 bits)",
                    int bits => $"ECDSA ({bits} bits)",
                };
            }
        }

        using (RSA? rsa = cert.GetRSAPublicKey())
        {
            if (rsa is not null)
            {
                return $"RSA ({rsa.KeySize} bits)";
            }
        }

        return cert.PublicKey.Oid.FriendlyName ?? cert.PublicKey.Oid.Value ?? "unknown";
    }

    private static void Line(StringBuilder text, string label, string value) =>
        text.AppendLine(CultureInfo.InvariantCulture, $"  {label + ":",-20}{value}");

    private static void Dispose(X509Certificate2Collection certificates)
    {
        foreach (X509Certificate2 certificate in certificates)
        {
            certificate.Dispose();
        }
    }
}
