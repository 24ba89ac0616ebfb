using System.Text.RegularExpressions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Processors.Transform;

namespace TraceSeal.Collector.Processors.Redaction;

/// <summary>Reads `processors::redaction[/name]` with upstream's keys; the ones TraceSeal does not provide are errors naming the key.</summary>
internal static class RedactionParser
{
    public const string Type = "redaction";

    /// <summary>The one hash function: keyed. Upstream's unkeyed md5 / sha1 / sha3 are refused (see <see cref="KeyedHasher"/>).</summary>
    public const string HmacSha256 = "hmac-sha256";

    private static readonly string[] Keys =
        ["allow_all_keys", "allowed_keys", "ignored_keys", "ignored_key_patterns", "blocked_key_patterns", "blocked_values",
            "allowed_values", "redact_all_types", "hash_function", "hmac_key", "summary", "url_sanitizer", "db_sanitizer",
            AttributeActionsParser.HashKeyFile];

    public static RedactionSettings? Parse(ConfigContext ctx, string id, YamlMap m)
    {
        m.CheckKeys(Keys);
        int errors = ctx.Errors.Count;
        foreach (var key in (string[])["url_sanitizer", "db_sanitizer"])
        {
            if (m.KeyNode(key) is { } node)
            {
                ctx.Error(node, m.Child(key), "not supported: remove it, and use blocked_values or blocked_key_patterns for what must not be stored");
            }
        }

        if (m.KeyNode("hmac_key") is { } inlineKey)
        {
            ctx.Error(inlineKey, m.Child("hmac_key"),
                $"a key written in the config ends up in backups, diffs and support tickets; put at least {KeyedHasher.MinKeyBytes} random bytes in a file and name it with {AttributeActionsParser.HashKeyFile}");
        }

        bool hashes = HashFunction(ctx, m);
        var settings = new RedactionSettings
        {
            Name = id,
            AllowAllKeys = m.Bool("allow_all_keys") ?? false,
            AllowedKeys = Strings(m, "allowed_keys"),
            IgnoredKeys = Strings(m, "ignored_keys"),
            IgnoredKeyPatterns = Patterns(ctx, m, "ignored_key_patterns"),
            BlockedKeyPatterns = Patterns(ctx, m, "blocked_key_patterns"),
            BlockedValues = Patterns(ctx, m, "blocked_values"),
            AllowedValues = Patterns(ctx, m, "allowed_values"),
            RedactAllTypes = m.Bool("redact_all_types") ?? false,
            HashKeyFile = AttributeActionsParser.HashKey(ctx, m, hashes, $"hash_function: {HmacSha256}"),
            Summary = m.OneOf("summary", ["debug", "info", "silent"]) switch
            {
                "debug" => RedactionSummary.Debug,
                "info" => RedactionSummary.Info,
                _ => RedactionSummary.Silent,
            },
        };

        if (!hashes && m.KeyNode(AttributeActionsParser.HashKeyFile) is { } unused)
        {
            ctx.Error(unused, m.Child(AttributeActionsParser.HashKeyFile), $"used only with hash_function: {HmacSha256}; set it, or remove {AttributeActionsParser.HashKeyFile} (values are masked with ****)");
        }

        return ctx.Errors.Count == errors ? settings : null;
    }

    /// <summary>True for `hmac-sha256`; unkeyed functions are errors that say why.</summary>
    private static bool HashFunction(ConfigContext ctx, YamlMap m)
    {
        var node = m.Scalar("hash_function");
        switch (node?.Value?.ToLowerInvariant())
        {
            case null:
                return false;
            case HmacSha256:
                return true;
            case "md5" or "sha1" or "sha3":
                ctx.Error(node, m.Child("hash_function"),
                    $"\"{node.Value}\" is an unkeyed hash: a low-entropy value (a card number, a user id, an e-mail address) is recovered by hashing every candidate; use {HmacSha256} with {AttributeActionsParser.HashKeyFile}");
                return false;
            default:
                ctx.Error(node, m.Child("hash_function"), $"unsupported value \"{node.Value}\" (supported: {HmacSha256}, with {AttributeActionsParser.HashKeyFile})");
                return false;
        }
    }

    private static string[] Strings(YamlMap m, string key) => [.. (m.List(key) ?? []).Select(s => s.Value ?? "")];

    private static Regex[] Patterns(ConfigContext ctx, YamlMap m, string key)
    {
        var items = m.List(key) ?? [];
        var result = new List<Regex>(items.Count);
        for (int i = 0; i < items.Count; i++)
        {
            if (SafeRegex.TryCreate(items[i].Value ?? "", out var error) is { } regex)
            {
                result.Add(regex);
            }
            else
            {
                ctx.Error(items[i], $"{m.Child(key)}[{i}]", error!);
            }
        }

        return [.. result];
    }
}
