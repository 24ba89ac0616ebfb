using TraceSeal.Collector.Config;
using TraceSeal.Collector.Processors.Transform;

namespace TraceSeal.Collector.Processors.Attributes;

/// <summary>Reads `processors::attributes[/name]` (upstream's keys; `include` / `exclude` are refused, see README.md).</summary>
internal static class AttributesParser
{
    public const string Type = "attributes";

    private static readonly string[] Keys = ["actions", "include", "exclude", AttributeActionsParser.HashKeyFile];

    public static AttributesSettings? Parse(ConfigContext ctx, string id, YamlMap m)
    {
        m.CheckKeys(Keys);
        int errors = ctx.Errors.Count;
        foreach (var key in (string[])["include", "exclude"])
        {
            if (m.KeyNode(key) is { } node)
            {
                ctx.Error(node, m.Child(key),
                    "not supported: match properties (services, span_names, attributes, ...) are not implemented, so the actions would apply to every span, log record and data point; remove it");
            }
        }

        var settings = AttributeActionsParser.Settings(ctx, m, "actions", (actions, keyFile) => new AttributesSettings { Name = id, Actions = actions, HashKeyFile = keyFile });
        return ctx.Errors.Count == errors ? settings : null;
    }
}
