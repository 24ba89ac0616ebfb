using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Collector.Identity;

/// <summary>
/// What a verified client certificate must look like before its identities are matched against tenant rules.
/// A chain that verifies proves who issued the certificate, not that its names are unambiguous: a subject with
/// several CN attributes (<c>CN=evil, CN=acme-x</c>) lets the holder pick which one a rule sees, and control
/// characters or NUL in a name are never legitimate and confuse every tool that prints them. Both are refused
/// (PERMISSION_DENIED / 403) whatever the rules say. Pure function of the certificate and its identities.
/// </summary>
internal static class IdentityPolicy
{
    private const string CommonNameOid = "2.5.4.3";

    /// <summary>Null when acceptable; otherwise why not, for the refusal message (identities escaped).</summary>
    public static string? Check(X509Certificate2 certificate, IReadOnlyList<string> identities)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(identities);
        int commonNames = 0;
        foreach (X500RelativeDistinguishedName rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.HasMultipleElements)
            {
                // CN=a+O=b: CertificateIdentity skips multi-valued RDNs, so a CN hidden in one must not pass unseen.
                if (rdn.RawData.Span.IndexOf(CommonNameOidDer) >= 0)
                {
                    commonNames++;
                }
            }
            else if (rdn.GetSingleElementType().Value == CommonNameOid)
            {
                commonNames++;
            }
        }

        if (commonNames > 1)
        {
            return $"the client certificate's subject has {commonNames} CN attributes ({IdentityText.Escape(certificate.Subject)}); TraceSeal admits certificates with one CN, so a rule cannot be matched by a CN the holder chose";
        }

        foreach (string identity in identities)
        {
            if (IdentityText.HasControl(identity))
            {
                return $"the client certificate's identity {IdentityText.Escape(identity)} contains control characters; issue a certificate without them";
            }
        }

        return null;
    }

    /// <summary>The DER encoding of OID 2.5.4.3 (06 03 55 04 03) as it appears inside an AttributeTypeAndValue.</summary>
    private static ReadOnlySpan<byte> CommonNameOidDer => [0x06, 0x03, 0x55, 0x04, 0x03];
}
