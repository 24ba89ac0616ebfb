using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace TraceSeal.Collector.Config;

/// <summary>A receiver's `tenants:` list (TraceSeal): `{tenant: NAME, identities: [patterns]}` per rule.</summary>
internal static partial class TenantParser
{
    private static readonly string[] RuleKeys = ["tenant", "identities", "quota"];
    private static readonly string[] QuotaKeys = ["requests_per_second", "bytes_per_second", "items_per_second"];

    public static IReadOnlyList<TenantRule> Parse(ConfigContext ctx, YamlMap receiver)
    {
        var node = receiver.ValueNode("tenants");
        var path = receiver.Child("tenants");
        if (node is null)
        {
            return [];
        }

        if (node is not YamlSequenceNode seq)
        {
            ctx.Error(node, path, $"expected a list of {{tenant, identities}} rules, found {YamlMap.Describe(node)}");
            return [];
        }

        var rules = new List<TenantRule>();
        for (int i = 0; i < seq.Children.Count; i++)
        {
            var rule = YamlMap.From(ctx, seq.Children[i], seq.Children[i], $"{path}[{i}]");
            if (rule is not null && ParseRule(ctx, rule) is { } parsed)
            {
                rules.Add(parsed);
            }
        }

        return rules;
    }

    private static TenantRule? ParseRule(ConfigContext ctx, YamlMap rule)
    {
        rule.CheckKeys(RuleKeys);
        var tenant = rule.Scalar("tenant");
        if (tenant is null)
        {
            ctx.Error(rule.At, rule.Child("tenant"), "required: the tenant name these identities map to");
        }
        else if (!TenantName().IsMatch(tenant.Value ?? ""))
        {
            ctx.Error(tenant, rule.Child("tenant"),
                $"invalid tenant name \"{tenant.Value}\"; use letters, digits, '.', '_' or '-' (it becomes part of storage paths)");
            tenant = null;
        }

        var items = rule.List("identities");
        if (items is null || items.Count == 0)
        {
            if (items is not null || !rule.Has("identities"))
            {
                ctx.Error(rule.At, rule.Child("identities"),
                    "at least one identity pattern is required, e.g. cn:my-app, dns:api.corp, uri:spiffe://corp/ns/payments/*");
            }

            return null;
        }

        var patterns = new List<string>();
        for (int i = 0; i < items.Count; i++)
        {
            var error = CheckPattern(items[i].Value ?? "");
            if (error is null)
            {
                patterns.Add(items[i].Value!);
            }
            else
            {
                ctx.Error(items[i], $"{rule.Child("identities")}[{i}]", error);
            }
        }

        var quota = ParseQuota(ctx, rule, "quota");
        return tenant is null || patterns.Count != items.Count
            ? null
            : new TenantRule { Tenant = tenant.Value!, Identities = patterns, Quota = quota };
    }

    /// <summary>
    /// A quota map (`requests_per_second`, `bytes_per_second`, `items_per_second`; each optional, each a positive
    /// number; bytes also as a size such as 10MiB). Null when the key is absent.
    /// </summary>
    public static TenantQuotaSettings? ParseQuota(ConfigContext ctx, YamlMap parent, string key)
    {
        var map = parent.Map(key);
        if (map is null)
        {
            return null;
        }

        map.CheckKeys(QuotaKeys);
        double? bytes = null;
        if (map.Scalar("bytes_per_second") is { } raw)
        {
            // A size with a unit (10MiB) reads better than a number of bytes; both are accepted.
            bytes = ByteSize.TryParse(raw.Value ?? "", out long n) ? n : map.Number("bytes_per_second", 1, 1e15);
        }

        var quota = new TenantQuotaSettings
        {
            RequestsPerSecond = map.Number("requests_per_second", 0.01, 1e9),
            BytesPerSecond = bytes,
            ItemsPerSecond = map.Number("items_per_second", 0.01, 1e12),
        };
        if (quota.IsUnlimited)
        {
            ctx.Error(map.At, map.Path, "empty quota; set requests_per_second, bytes_per_second and/or items_per_second, or remove it");
        }

        return quota;
    }

    /// <summary>
    /// `cn:`, `dns:` and `uri:` name the kind of identity; a pattern without a prefix matches the subject CN only
    /// (it never matched SAN names by accident since issue 14). One that looks like a URI is an error, not a CN.
    /// </summary>
    private static string? CheckPattern(string pattern)
    {
        if (string.IsNullOrWhiteSpace(pattern))
        {
            return "empty identity pattern; use cn:NAME, dns:NAME or uri:URI (a pattern without prefix matches the CN)";
        }

        foreach (char c in pattern)
        {
            if (char.IsControl(c))
            {
                return "control character in identity pattern; identities with control characters are refused anyway";
            }
        }

        if (!pattern.StartsWith("cn:", StringComparison.Ordinal) && !pattern.StartsWith("dns:", StringComparison.Ordinal)
            && !pattern.StartsWith("uri:", StringComparison.Ordinal) && pattern.Contains("://", StringComparison.Ordinal))
        {
            return $"\"{pattern}\" has no prefix, so it would match the subject CN only; write uri:{pattern} to match SAN URIs (SPIFFE IDs)";
        }

        foreach (var prefix in (string[])["cn:", "dns:", "uri:"])
        {
            if (pattern.StartsWith(prefix, StringComparison.Ordinal) && string.IsNullOrWhiteSpace(pattern[prefix.Length..]))
            {
                return $"empty identity pattern after \"{prefix}\"; write what to match, e.g. {prefix}{Example(prefix)}";
            }
        }

        return null;
    }

    private static string Example(string prefix) => prefix switch
    {
        "cn:" => "my-app",
        "dns:" => "api.corp.example",
        _ => "spiffe://corp/ns/payments/*",
    };

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]
    private static partial Regex TenantName();
}
