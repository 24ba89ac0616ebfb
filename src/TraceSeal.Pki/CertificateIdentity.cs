using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Pki;

/// <summary>The identities a (verified) client certificate claims, in the form tenant rules match on.</summary>
public static class CertificateIdentity
{
    private const string CommonNameOid = "2.5.4.3";

    /// <summary>
    /// "cn:&lt;CN&gt;" for each subject CN, then "dns:&lt;name&gt;" per SAN DNS name (lower-cased: DNS is
    /// case-insensitive, rules should not be), then "uri:&lt;uri&gt;" per SAN URI (verbatim: SPIFFE paths are
    /// case-sensitive). Duplicates are dropped. Call only after the chain has been verified: the
    /// certificate's claims mean nothing before that.
    /// </summary>
    public static IReadOnlyList<string> From(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var identities = new List<string>();
        foreach (X500RelativeDistinguishedName rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            // Multi-valued RDNs (CN=a+O=b) are skipped: nothing we issue has them, and guessing is worse than ignoring.
            if (!rdn.HasMultipleElements && rdn.GetSingleElementType().Value == CommonNameOid && rdn.GetSingleElementValue() is { Length: > 0 } cn)
            {
                Add(identities, "cn:" + cn);
            }
        }

        foreach (AltName name in SubjectAltNames.Read(certificate))
        {
            if (name.Kind == "DNS")
            {
                Add(identities, "dns:" + name.Value.ToLowerInvariant());
            }
            else if (name.Kind == "URI")
            {
                Add(identities, "uri:" + name.Value);
            }
        }

        return identities;
    }

    private static void Add(List<string> identities, string identity)
    {
        if (!identities.Contains(identity, StringComparer.Ordinal))
        {
            identities.Add(identity);
        }
    }
}
