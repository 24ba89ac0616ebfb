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
            "skip_conditions", AttributeActionsParser.HashKeyFile];

    /// <summary>upstream's db_sanitizer sections, each with `enabled` and `attributes`.</summary>
    private static readonly string[] DbSections = ["sql", "redis", "valkey", "memcached", "mongo", "opensearch", "es"];

    public static RedactionSettings? Parse(ConfigContext ctx, string id, YamlMap m)
    {
        m.CheckKeys(Keys);
        int errors = ctx.Errors.Count;
        Sanitizers(ctx, m);
        if (m.KeyNode("skip_conditions") is { } skip)
        {
            ctx.Error(skip, m.Child("skip_conditions"),
                "not supported: TraceSeal has no OTTL to evaluate the conditions, and a skipped item would be stored unredacted; remove it, or put the items to spare in another pipeline");
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
                ctx.Error(node, m.Child("hash_function"), $"unsupported value \"{node.Value}\": TraceSeal hashes only with a key (HMAC-SHA-256); use {HmacSha256} with {AttributeActionsParser.HashKeyFile}");
                return false;
        }
    }

    /// <summary>
    /// `url_sanitizer` / `db_sanitizer`: accepted while every part is disabled (upstream's default, often written out);
    /// an enabled one is an error at its `enabled`, since a sanitizer that silently does nothing would store the ids and
    /// query literals it was meant to remove.
    /// </summary>
    private static void Sanitizers(ConfigContext ctx, YamlMap m)
    {
        const string Why = "not supported: TraceSeal has no {0} sanitizer; remove it or set enabled: false, and use blocked_values or blocked_key_patterns for what must not be stored";
        if (m.Map("url_sanitizer") is { } url)
        {
            url.CheckKeys(["enabled", "attributes", "sanitize_span_name", "sanitize_log_body"]);
            Enabled(ctx, url, string.Format(System.Globalization.CultureInfo.InvariantCulture, Why, "URL"));
        }

        if (m.Map("db_sanitizer") is { } db)
        {
            db.CheckKeys([.. DbSections, "sanitize_span_name"]);
            foreach (var section in DbSections)
            {
                if (db.Map(section) is { } part)
                {
                    part.CheckKeys(["enabled", "attributes"]);
                    Enabled(ctx, part, string.Format(System.Globalization.CultureInfo.InvariantCulture, Why, "database query"));
                }
            }
        }
    }

    private static void Enabled(ConfigContext ctx, YamlMap part, string message)
    {
        if (part.Bool("enabled") == true)
        {
            ctx.Error(part.ValueNode("enabled")!, part.Child("enabled"), message);
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
