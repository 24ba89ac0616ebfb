using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Identity;

/// <summary>
/// Maps verified client identities (<c>cn:..</c>, <c>dns:..</c>, <c>uri:..</c> as produced by
/// <see cref="TraceSeal.Pki.CertificateIdentity"/>) to a tenant. Pure functions: the decision depends on
/// the rules and the identities only.
/// </summary>
internal static class TenantMatcher
{
    private const string CnPrefix = "cn:";
    private const string DnsPrefix = "dns:";
    private const string UriPrefix = "uri:";

    /// <summary>
    /// First rule (in config order) with a pattern that admits one of the identities wins. No rules: tenant
    /// <c>default</c> with the preferred identity (uri, then dns, then cn). Rules but no match: denied. A
    /// certificate <see cref="IdentityPolicy"/> refused (<paramref name="certificateRefusal"/>) is refused first.
    /// </summary>
    public static TenantDecision Resolve(IReadOnlyList<TenantRule> rules, IReadOnlyList<string> identities, string? certificateRefusal = null)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(identities);
        string presented = identities.Count == 0 ? "no client certificate" : IdentityText.Escape(string.Join(", ", identities));
        if (certificateRefusal is not null)
        {
            return TenantDecision.Refuse(presented, certificateRefusal);
        }

        if (rules.Count == 0)
        {
            return TenantDecision.Admit(TenantDecision.DefaultTenant, PreferredIdentity(identities), presented);
        }

        foreach (TenantRule rule in rules)
        {
            foreach (string pattern in rule.Identities)
            {
                foreach (string identity in identities)
                {
                    if (Admits(pattern, identity))
                    {
                        return TenantDecision.Admit(rule.Tenant, identity, presented);
                    }
                }
            }
        }

        return TenantDecision.Deny(presented);
    }

    /// <summary>Uri first (SPIFFE IDs are the most specific), then dns, then cn; <c>anonymous</c> if none.</summary>
    public static string PreferredIdentity(IReadOnlyList<string> identities)
    {
        string? dns = null, cn = null;
        foreach (string identity in identities)
        {
            if (identity.StartsWith(UriPrefix, StringComparison.Ordinal))
            {
                return identity;
            }

            if (dns is null && identity.StartsWith(DnsPrefix, StringComparison.Ordinal))
            {
                dns = identity;
            }
            else if (cn is null && identity.StartsWith(CnPrefix, StringComparison.Ordinal))
            {
                cn = identity;
            }
        }

        return dns ?? cn ?? TenantDecision.Anonymous;
    }

    /// <summary>
    /// Whether <paramref name="pattern"/> (<c>cn:GLOB</c>, <c>dns:GLOB</c>, <c>uri:GLOB</c>, or a bare GLOB, which
    /// matches the CN only) admits <paramref name="identity"/> (always prefixed). DNS compares case-insensitively
    /// (DNS names are); uri and cn case-sensitively (SPIFFE paths are).
    /// </summary>
    public static bool Admits(string pattern, string identity)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(identity);
        int kindEnd = identity.IndexOf(':', StringComparison.Ordinal);
        if (kindEnd <= 0)
        {
            return false;
        }

        ReadOnlySpan<char> kind = identity.AsSpan(0, kindEnd + 1);
        ReadOnlySpan<char> value = identity.AsSpan(kindEnd + 1);
        ReadOnlySpan<char> glob = pattern;
        if (HasKnownPrefix(pattern, out int prefixLength))
        {
            if (!glob[..prefixLength].SequenceEqual(kind))
            {
                return false;
            }

            glob = glob[prefixLength..];
        }
        else if (!kind.SequenceEqual(CnPrefix))
        {
            // A bare pattern names a CN: `globex` must not admit dns:globex or uri:globex by accident.
            return false;
        }

        return GlobMatch(glob, value, ignoreCase: kind.SequenceEqual(DnsPrefix));
    }

    /// <summary><c>*</c> matches any run of characters (including '/' and '.'); everything else is literal.</summary>
    public static bool GlobMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> value, bool ignoreCase)
    {
        // Classic linear backtracking: remember the last '*' and how much of the value it has eaten.
        int p = 0, v = 0, star = -1, starValue = 0;
        while (v < value.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                starValue = v;
            }
            else if (p < pattern.Length && CharEquals(pattern[p], value[v], ignoreCase))
            {
                p++;
                v++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                v = ++starValue;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static bool HasKnownPrefix(string pattern, out int length)
    {
        foreach (string prefix in (ReadOnlySpan<string>)[CnPrefix, DnsPrefix, UriPrefix])
        {
            if (pattern.StartsWith(prefix, StringComparison.Ordinal))
            {
                length = prefix.Length;
                return true;
            }
        }

        length = 0;
        return false;
    }

    private static bool CharEquals(char a, char b, bool ignoreCase)
        => a == b || (ignoreCase && char.ToLowerInvariant(a) == char.ToLowerInvariant(b));
}
