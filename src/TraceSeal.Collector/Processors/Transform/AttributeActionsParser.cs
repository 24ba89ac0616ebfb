using System.Globalization;
using System.Text.RegularExpressions;
using OpenTelemetry.Proto.Common.V1;
using TraceSeal.Collector.Config;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace TraceSeal.Collector.Processors.Transform;

/// <summary>
/// Reads upstream's action list (attributes::actions, resource::attributes) with upstream's validation rules, plus
/// `hash_key_file`, which every processor that hashes requires. Every problem is reported with its line.
/// </summary>
internal static class AttributeActionsParser
{
    private static readonly string[] ActionKeys = ["key", "action", "value", "from_attribute", "from_context", "default_value", "pattern", "converted_type"];
    private static readonly string[] ActionNames = ["insert", "update", "upsert", "delete", "hash", "extract", "convert"];
    private static readonly string[] ConvertedTypes = ["int", "double", "string"];

    /// <summary>The key TraceSeal adds next to upstream's keys: the HMAC key of `hash`.</summary>
    public const string HashKeyFile = "hash_key_file";

    /// <summary>Why a hash needs a key, for messages.</summary>
    public const string WhyKeyed =
        "TraceSeal hashes with HMAC-SHA-256 under a secret key, because an unkeyed hash of a low-entropy value (a user id, an e-mail address, a phone number) is reversed by hashing every candidate; " +
        "create a key with: head -c 32 /dev/urandom > hash.key && chmod 600 hash.key";

    /// <summary>Null when the list is missing or has errors (reported); <paramref name="usesHash"/> says whether a key is needed.</summary>
    public static List<AttributeAction>? Parse(ConfigContext ctx, YamlMap m, string listKey, out bool usesHash)
    {
        usesHash = false;
        var node = m.ValueNode(listKey);
        if (node is not YamlSequenceNode sequence || sequence.Children.Count == 0)
        {
            ctx.Error(node ?? (YamlNode?)m.KeyNode(listKey) ?? m.At, m.Child(listKey), node is null or YamlSequenceNode
                ? $"at least one action is required, e.g. {listKey}: [{{key: user.email, action: hash}}]"
                : $"expected a list of actions, found {YamlMap.Describe(node)}");
            return null;
        }

        int errors = ctx.Errors.Count;
        var actions = new List<AttributeAction>();
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            var item = sequence.Children[i];
            var a = YamlMap.From(ctx, item, item, $"{m.Child(listKey)}[{i}]");
            if (a is not null && ParseAction(ctx, a) is { } action)
            {
                usesHash |= action.Kind == AttributeActionKind.Hash;
                actions.Add(action);
            }
        }

        return ctx.Errors.Count == errors ? actions : null;
    }

    /// <summary>
    /// The list under <paramref name="listKey"/> and `hash_key_file` (required when an action hashes), made into settings
    /// by <paramref name="make"/>; null when either has errors (reported).
    /// </summary>
    public static T? Settings<T>(ConfigContext ctx, YamlMap m, string listKey, Func<IReadOnlyList<AttributeAction>, string?, T> make)
        where T : AttributeActionsSettings
    {
        int errors = ctx.Errors.Count;
        var actions = Parse(ctx, m, listKey, out bool hashes);
        var keyFile = HashKey(ctx, m, hashes, "action hash");
        if (actions is not null && !hashes && m.KeyNode(HashKeyFile) is { } unused)
        {
            ctx.Warn(unused, m.Child(HashKeyFile), "no action hashes, so the key is not used; remove it or add an action: hash");
        }

        return actions is null || ctx.Errors.Count != errors ? null : make(actions, keyFile);
    }

    /// <summary>`hash_key_file`: required when <paramref name="required"/>, checked (size, mode) when files are checked.</summary>
    public static string? HashKey(ConfigContext ctx, YamlMap m, bool required, string requiredBy)
    {
        var scalar = m.Scalar(HashKeyFile);
        if (scalar is null)
        {
            if (required && !m.Has(HashKeyFile))
            {
                ctx.Error(m.At, m.Path, $"{requiredBy} needs {HashKeyFile}: {WhyKeyed}");
            }

            return null;
        }

        var path = YamlMap.CheckFile(ctx, scalar, m.Child(HashKeyFile), $"the file holding at least {KeyedHasher.MinKeyBytes} random bytes; {WhyKeyed}");
        if (path is not null && ctx.Options.CheckFiles && KeyedHasher.Check(path) is { } problem)
        {
            ctx.Error(scalar, m.Child(HashKeyFile), problem);
            return null;
        }

        return path;
    }

    private static AttributeAction? ParseAction(ConfigContext ctx, YamlMap a)
    {
        a.CheckKeys(ActionKeys);
        var actionNode = a.Scalar("action");
        if (actionNode is null)
        {
            ctx.Error(a.At, a.Path, $"action is required ({string.Join(", ", ActionNames)})");
            return null;
        }

        string name = (actionNode.Value ?? "").ToLowerInvariant();
        if (!ActionNames.Contains(name))
        {
            ctx.Error(actionNode, a.Child("action"), $"unsupported action \"{actionNode.Value}\" (supported: {string.Join(", ", ActionNames)})");
            return null;
        }

        var kind = Enum.Parse<AttributeActionKind>(name, ignoreCase: true);
        int errors = ctx.Errors.Count;
        ContextKey? contextKey = a.Has("from_context") ? FromContext(ctx, a) : null;

        string? key = a.String("key");
        var pattern = a.Scalar("pattern");
        bool hasValue = a.Has("value"), hasFrom = a.Has("from_attribute"), hasDefault = a.Has("default_value"), hasContext = a.Has("from_context");
        switch (kind)
        {
            case AttributeActionKind.Insert or AttributeActionKind.Update or AttributeActionKind.Upsert:
                RequireKey(ctx, a, key, name);
                NotUsed(ctx, a, name, "pattern", "converted_type");
                if ((hasValue ? 1 : 0) + (hasFrom ? 1 : 0) + (hasContext ? 1 : 0) > 1)
                {
                    string second = hasContext ? "from_context" : "from_attribute";
                    ctx.Error(a.KeyNode(second)!, a.Child(second), "set only one of value, from_attribute and from_context");
                }
                else if (!hasValue && !hasFrom && !hasDefault && !hasContext)
                {
                    ctx.Error(a.At, a.Path, $"action {name} needs one of value, from_attribute, from_context or default_value: what to write under \"{key}\"");
                }

                break;
            case AttributeActionKind.Delete or AttributeActionKind.Hash:
                if (key is null && pattern is null)
                {
                    ctx.Error(a.At, a.Path, $"action {name} needs key and/or pattern: the attributes to {name}");
                }

                NotUsed(ctx, a, name, "value", "from_attribute", "from_context", "default_value", "converted_type");
                break;
            case AttributeActionKind.Extract:
                RequireKey(ctx, a, key, name);
                if (pattern is null)
                {
                    ctx.Error(a.At, a.Path, "action extract needs pattern: a regular expression whose named groups become attributes, e.g. ^/api/(?P<version>v[0-9]+)/");
                }

                NotUsed(ctx, a, name, "value", "from_attribute", "from_context", "default_value", "converted_type");
                break;
            case AttributeActionKind.Convert:
                RequireKey(ctx, a, key, name);
                NotUsed(ctx, a, name, "value", "from_attribute", "from_context", "default_value", "pattern");
                if (!a.Has("converted_type"))
                {
                    ctx.Error(a.At, a.Path, $"action convert needs converted_type ({string.Join(", ", ConvertedTypes)})");
                }

                break;
        }

        string? convertedType = kind == AttributeActionKind.Convert ? a.OneOf("converted_type", ConvertedTypes) : null;
        Regex? regex = null;
        string[] names = [];
        if (pattern is not null && kind is AttributeActionKind.Delete or AttributeActionKind.Hash or AttributeActionKind.Extract)
        {
            regex = SafeRegex.TryCreate(pattern.Value ?? "", out var regexError);
            if (regex is null)
            {
                ctx.Error(pattern, a.Child("pattern"), regexError!);
            }
            else if (kind == AttributeActionKind.Extract)
            {
                names = ExtractNames(ctx, pattern, a.Child("pattern"), regex);
            }
        }

        var value = hasValue ? Value(ctx, a, "value") : null;
        var defaultValue = hasDefault ? Value(ctx, a, "default_value") : null;
        return ctx.Errors.Count != errors ? null : new AttributeAction
        {
            Kind = kind,
            Key = key,
            Value = value,
            FromAttribute = a.String("from_attribute"),
            FromContext = kind is AttributeActionKind.Insert or AttributeActionKind.Update or AttributeActionKind.Upsert ? contextKey : null,
            DefaultValue = defaultValue,
            Pattern = regex,
            ExtractNames = names,
            ConvertedType = convertedType,
        };
    }

    /// <summary>The `from_context` keys TraceSeal has, by name.</summary>
    public const string AuthIdentity = "auth.identity", AuthTenant = "auth.tenant";

    /// <summary>
    /// `from_context`: upstream reads `metadata.*` (request headers), `auth.*` (what the server authenticator set) and
    /// `client.address`. A TraceSeal batch carries only what mutual TLS established: the admitted identity and the
    /// tenant, as `auth.identity` and `auth.tenant`. Anything else is refused with why (a key that can never be found
    /// would silently write default_value or nothing).
    /// </summary>
    private static ContextKey? FromContext(ConfigContext ctx, YamlMap a)
    {
        var node = a.Scalar("from_context");
        if (node is null)
        {
            return null;
        }

        string name = node.Value ?? "";
        switch (name)
        {
            case AuthIdentity:
                return ContextKey.Identity;
            case AuthTenant:
                return ContextKey.Tenant;
        }

        string why = name.StartsWith("metadata.", StringComparison.Ordinal)
            ? "TraceSeal's receivers hand processors no request headers (include_metadata is not supported)"
            : name == "client.address"
                ? "the client address does not travel with a batch"
                : name.StartsWith("auth.", StringComparison.Ordinal)
                    ? "the mutual-TLS authenticator sets only the identity and the tenant"
                    : "not a context key";
        ctx.Error(node, a.Child("from_context"), $"\"{name}\" is not available: {why}; supported: {AuthIdentity} (the client certificate's identity) and {AuthTenant} (the tenant its identity rules chose)");
        return null;
    }

    private static void RequireKey(ConfigContext ctx, YamlMap a, string? key, string action)
    {
        if (string.IsNullOrEmpty(key))
        {
            ctx.Error(a.At, a.Path, $"action {action} needs key: the attribute to act on");
        }
    }

    private static void NotUsed(ConfigContext ctx, YamlMap a, string action, params string[] fields)
    {
        foreach (var field in fields)
        {
            if (a.KeyNode(field) is { } node)
            {
                ctx.Error(node, a.Child(field), $"not used by action {action}; remove it");
            }
        }
    }

    /// <summary>As upstream: at least one group, and every group named (the names become attribute keys).</summary>
    private static string[] ExtractNames(ConfigContext ctx, YamlNode at, string path, Regex regex)
    {
        var names = regex.GetGroupNames().Where(n => n != "0").ToArray();
        if (names.Length == 0)
        {
            ctx.Error(at, path, "has no named groups; name each group whose match becomes an attribute: (?P<name>...)");
            return [];
        }

        if (names.Any(n => int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            ctx.Error(at, path, "has an unnamed group; name every group (its name is the attribute key) or make it non-capturing: (?:...)");
            return [];
        }

        return names;
    }

    /// <summary>A value typed as YAML reads it, as upstream: plain true/false, whole numbers and decimals are bool, int and double; anything quoted is a string.</summary>
    internal static AnyValue? Value(ConfigContext ctx, YamlMap a, string field)
    {
        var node = a.ValueNode(field);
        if (node is not YamlScalarNode s)
        {
            ctx.Error(node!, a.Child(field), $"expected a single value (string, number, true or false), found {YamlMap.Describe(node!)}");
            return null;
        }

        string text = s.Value ?? "";
        if (s.Style is ScalarStyle.Plain or ScalarStyle.Any && text.Length > 0)
        {
            if (text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
            {
                return new AnyValue { BoolValue = text[0] is 't' or 'T' };
            }

            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
            {
                return new AnyValue { IntValue = n };
            }

            if ((char.IsAsciiDigit(text[0]) || text[0] is '-' or '+' or '.')
                && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
            {
                return new AnyValue { DoubleValue = d };
            }
        }

        return OtlpItems.String(text);
    }
}
