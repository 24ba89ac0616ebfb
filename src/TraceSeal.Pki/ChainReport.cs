using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Pki;

/// <summary>Chain facts in plain words: how the certificates of one file link, and what X509Chain says.</summary>
internal static class ChainReport
{
    /// <summary>"[1] is signed by [2]; [2] is self-signed" — each certificate against the one after it.</summary>
    public static string Links(X509Certificate2Collection certificates)
    {
        var parts = new List<string>();
        for (int i = 0; i < certificates.Count; i++)
        {
            X509Certificate2 cert = certificates[i];
            bool namedSelf = cert.SubjectName.RawData.AsSpan().SequenceEqual(cert.IssuerName.RawData);
            if (namedSelf && SignatureCheck.IsSignedBy(cert, cert) == true)
            {
                parts.Add($"[{i + 1}] is self-signed");
            }
            else if (i + 1 < certificates.Count)
            {
                parts.Add(SignedBy(cert, i + 1, certificates[i + 1]));
            }
            else
            {
                parts.Add($"[{i + 1}] is issued by {cert.Issuer}, which is not in this file");
            }
        }

        return string.Join("; ", parts);
    }

    private static string SignedBy(X509Certificate2 cert, int nextIndex, X509Certificate2 next) => SignatureCheck.IsSignedBy(cert, next) switch
    {
        true => $"[{nextIndex}] is signed by [{nextIndex + 1}]",
        false => $"[{nextIndex}] is NOT signed by [{nextIndex + 1}] (issuer {cert.Issuer}, next subject {next.Subject})",
        null => $"[{nextIndex}] names [{nextIndex + 1}] as issuer: {cert.IssuerName.Name == next.SubjectName.Name} (signature algorithm {cert.SignatureAlgorithm.Value} not checked)",
    };

    /// <summary>Verifies the first certificate, with the rest of the file as intermediates, against the CA file only.</summary>
    public static string Verify(X509Certificate2Collection certificates, X509Certificate2Collection roots, DateTimeOffset now)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.ExtraStore.AddRange(certificates);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;

        bool ok = chain.Build(certificates[0]);
        string path = string.Join(" -> ", chain.ChainElements.Select(e => e.Certificate.Subject));
        if (ok)
        {
            return $"OK, trusted ({path})";
        }

        var problems = new List<string>();
        foreach (X509ChainElement element in chain.ChainElements)
        {
            foreach (X509ChainStatus status in element.ChainElementStatus)
            {
                problems.Add($"{element.Certificate.Subject}: {Words(status.Status)}");
            }
        }

        if (problems.Count == 0)
        {
            problems.AddRange(chain.ChainStatus.Select(s => Words(s.Status)));
        }

        return $"FAILED ({path}): {string.Join("; ", problems.Distinct())}";
    }

    internal static string Words(X509ChainStatusFlags flag) => flag switch
    {
        X509ChainStatusFlags.NotTimeValid => "expired or not yet valid",
        X509ChainStatusFlags.UntrustedRoot => "the chain ends at a root that is not in the CA file",
        X509ChainStatusFlags.PartialChain => "no issuer found in the CA file or the bundle (wrong CA file?)",
        X509ChainStatusFlags.NotSignatureValid => "signature does not verify (certificate altered, or signed by a different key)",
        X509ChainStatusFlags.InvalidBasicConstraints => "an issuer is not allowed to act as a CA (basicConstraints)",
        X509ChainStatusFlags.NotValidForUsage => "key usage does not allow this use",
        X509ChainStatusFlags.InvalidExtension => "an extension is invalid",
        X509ChainStatusFlags.HasNotSupportedCriticalExtension => "an unsupported critical extension is present",
        X509ChainStatusFlags.InvalidNameConstraints or X509ChainStatusFlags.HasNotPermittedNameConstraint or X509ChainStatusFlags.HasExcludedNameConstraint => "name constraints violated",
        X509ChainStatusFlags.Cyclic => "the chain loops",
        _ => flag.ToString(),
    };
}
