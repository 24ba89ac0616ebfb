using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Endpoint;

/// <summary>Pure decisions on a server certificate (no I/O), so each rule is unit-tested with made-up certificates.</summary>
internal static class CertificateChecks
{
    /// <summary>The seeds' renewal window: warn a month ahead, fail in the last week.</summary>
    public static readonly TimeSpan WarnBefore = TimeSpan.FromDays(30);
    public static readonly TimeSpan FailBefore = TimeSpan.FromDays(7);

    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    /// <summary>Chains <paramref name="leaf"/> to <paramref name="roots"/> only (custom root trust), or to the
    /// system store when no roots are given. Validity dates are left to <see cref="Expiry"/>.</summary>
    public static CheckResult Chain(X509Certificate2 leaf, X509Certificate2Collection sent, X509Certificate2Collection? roots, DateTimeOffset now)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ServerAuthOid));
        chain.ChainPolicy.ExtraStore.AddRange(sent);
        if (roots is not null)
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        }

        string source = roots is null ? "the system trust store (pass --ca to pin the collector's CA)" : "the given CA";
        if (chain.Build(leaf))
        {
            string path = string.Join(" <- ", chain.ChainElements.Select(e => e.Certificate.GetNameInfo(X509NameType.SimpleName, false)));
            return CheckResult.Pass(Catalogue.Chain, $"chains to {source}: {path}");
        }

        string why = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        return CheckResult.Finding(Catalogue.Chain, $"{leaf.Subject} does not chain to {source}: {why}");
    }

    /// <summary>Modern clients match the SAN only (RFC 6125 §6.4.4: no CN fallback when a SAN is present).</summary>
    /// <param name="rule">The rule to report under: TS-EP-006 by default, TS-ENV-007 for `verify env`.</param>
    public static CheckResult HostName(X509Certificate2 leaf, string serverName, Rule? rule = null)
    {
        rule ??= Catalogue.HostName;
        string sans = string.Join(", ", SanNames(leaf));
        return leaf.MatchesHostname(serverName, allowWildcards: true, allowCommonName: false)
            ? CheckResult.Pass(rule, $"subjectAltName covers {serverName}")
            : CheckResult.Finding(rule, $"{serverName} is not in the certificate's subjectAltName (has: {(sans.Length == 0 ? "none" : sans)})");
    }

    public static CheckResult Expiry(X509Certificate2 leaf, DateTimeOffset now)
    {
        var notBefore = new DateTimeOffset(leaf.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        var notAfter = new DateTimeOffset(leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        if (now < notBefore)
        {
            return CheckResult.Finding(Catalogue.Expiry, $"not valid before {notBefore:u} (check the clocks)");
        }

        TimeSpan left = notAfter - now;
        if (left <= TimeSpan.Zero)
        {
            return CheckResult.Finding(Catalogue.Expiry, $"expired {notAfter:u}");
        }

        string message = $"expires {notAfter:u}, in {left.TotalDays:0} days";
        return left < FailBefore ? CheckResult.Finding(Catalogue.Expiry, message)
            : left < WarnBefore ? new CheckResult(Catalogue.Expiry, Outcome.Warn, message)
            : CheckResult.Pass(Catalogue.Expiry, message);
    }

    public static CheckResult KeyStrength(X509Certificate2 leaf)
    {
        using var rsa = leaf.GetRSAPublicKey();
        if (rsa is not null)
        {
            return rsa.KeySize >= 2048
                ? CheckResult.Pass(Catalogue.KeyStrength, $"RSA {rsa.KeySize}")
                : CheckResult.Finding(Catalogue.KeyStrength, $"RSA {rsa.KeySize} is below 2048 bits");
        }

        using var ec = leaf.GetECDsaPublicKey();
        if (ec is not null)
        {
            return ec.KeySize >= 256
                ? CheckResult.Pass(Catalogue.KeyStrength, $"ECDSA P-{ec.KeySize}")
                : CheckResult.Finding(Catalogue.KeyStrength, $"ECDSA {ec.KeySize} is below 256 bits");
        }

        return new CheckResult(Catalogue.KeyStrength, Outcome.Warn, $"unrecognised key algorithm {leaf.PublicKey.Oid.FriendlyName ?? leaf.PublicKey.Oid.Value}");
    }

    private static IEnumerable<string> SanNames(X509Certificate2 leaf)
    {
        foreach (var san in leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>())
        {
            foreach (string dns in san.EnumerateDnsNames())
            {
                yield return "DNS:" + dns;
            }

            foreach (var ip in san.EnumerateIPAddresses())
            {
                yield return "IP:" + ip;
            }
        }
    }
}
