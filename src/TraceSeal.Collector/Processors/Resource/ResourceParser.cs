using TraceSeal.Collector.Config;
using TraceSeal.Collector.Processors.Transform;

namespace TraceSeal.Collector.Processors.Resource;

/// <summary>Reads `processors::resource[/name]`: upstream's `attributes` action list, plus `hash_key_file`.</summary>
internal static class ResourceParser
{
    public const string Type = "resource";

    private static readonly string[] Keys = ["attributes", AttributeActionsParser.HashKeyFile];

    public static ResourceSettings? Parse(ConfigContext ctx, string id, YamlMap m)
    {
        m.CheckKeys(Keys);
        return AttributeActionsParser.Settings(ctx, m, "attributes", (actions, keyFile) => new ResourceSettings { Name = id, Actions = actions, HashKeyFile = keyFile });
    }
}
