using YamlDotNet.RepresentationModel;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Config;

/// <summary>Small read-only helpers over YamlDotNet's representation model, which keeps every node's
/// start mark — that is why the linter uses it instead of a typed deserializer. TraceSeal's own loader runs first
/// for TraceSeal configs (<see cref="CollectorLoader"/>); the lint also covers components TraceSeal does not run.</summary>
internal static class YamlNav
{
    public static YamlMappingNode? Mapping(YamlNode? node) => node as YamlMappingNode;

    /// <summary>The key node and value node of <paramref name="key"/>, or nulls when absent.</summary>
    public static (YamlScalarNode? Key, YamlNode? Value) Entry(YamlMappingNode? map, string key)
    {
        if (map is null)
        {
            return (null, null);
        }

        foreach (var (k, v) in map.Children)
        {
            if (k is YamlScalarNode s && s.Value == key)
            {
                return (s, v);
            }
        }

        return (null, null);
    }

    public static YamlNode? Get(YamlMappingNode? map, string key) => Entry(map, key).Value;

    /// <summary>The scalar text, or null for a missing node, a YAML null (`key:` / `~` / `null`) or a collection.</summary>
    public static string? Text(YamlNode? node) =>
        node is YamlScalarNode { Value: { } value } s && !(s.Style == YamlDotNet.Core.ScalarStyle.Plain && value is "" or "~" or "null" or "Null" or "NULL")
            ? value
            : null;

    public static bool IsTrue(YamlNode? node) => Text(node)?.Trim().ToLowerInvariant() is "true" or "yes" or "on";

    /// <summary>Present and not a YAML null: an empty `tls:` is no TLS upstream either.</summary>
    public static bool IsSet(YamlNode? node) => node is YamlMappingNode or YamlSequenceNode || Text(node) is not null;

    /// <summary>Component ids are `type` or `type/name` (upstream component.ID).</summary>
    public static string TypeOf(string id)
    {
        int slash = id.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? id : id[..slash];
    }

    public static IEnumerable<(YamlScalarNode Key, YamlNode Value)> Entries(YamlMappingNode? map)
    {
        if (map is null)
        {
            yield break;
        }

        foreach (var (k, v) in map.Children)
        {
            if (k is YamlScalarNode s && s.Value is not null)
            {
                yield return (s, v);
            }
        }
    }

    /// <summary>True when any key below <paramref name="node"/> (at any depth) satisfies <paramref name="match"/>.</summary>
    public static bool AnyKey(YamlNode? node, Func<string, bool> match) => node switch
    {
        YamlMappingNode m => m.Children.Any(kv => (kv.Key is YamlScalarNode { Value: { } k } && match(k)) || AnyKey(kv.Value, match)),
        YamlSequenceNode seq => seq.Children.Any(child => AnyKey(child, match)),
        _ => false,
    };

    public static SourceLocation At(string file, YamlNode node) => new(file, checked((int)node.Start.Line), checked((int)node.Start.Column));
}
