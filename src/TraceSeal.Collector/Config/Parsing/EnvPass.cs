using YamlDotNet.RepresentationModel;

namespace TraceSeal.Collector.Config;

/// <summary>
/// Expands `${env:VAR}` in every scalar value (never in keys) before anything is read, as upstream does, so a
/// value's type is judged after expansion. Every unset variable is reported, not just the first.
/// </summary>
internal static class EnvPass
{
    public static void Run(ConfigContext ctx, YamlNode root) =>
        Run(ctx, root, "", new HashSet<YamlNode>(ReferenceEqualityComparer.Instance));

    // `seen`: an alias (`*x`) is the same node object as its anchor; expanding it twice would undo `$$` escapes.
    private static void Run(ConfigContext ctx, YamlNode node, string path, HashSet<YamlNode> seen)
    {
        if (!seen.Add(node))
        {
            return;
        }

        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (key, value) in map.Children)
                {
                    var name = (key as YamlScalarNode)?.Value ?? "?";
                    Run(ctx, value, path.Length == 0 ? name : $"{path}::{name}", seen);
                }

                break;
            case YamlSequenceNode seq:
                for (int i = 0; i < seq.Children.Count; i++)
                {
                    Run(ctx, seq.Children[i], $"{path}[{i}]", seen);
                }

                break;
            case YamlScalarNode scalar when scalar.Value is not null:
                var expanded = EnvExpander.Expand(scalar.Value, ctx.Options.GetEnvironmentVariable, out var error);
                if (expanded is null)
                {
                    ctx.Error(scalar, path, error!);
                }
                else if (!ReferenceEquals(expanded, scalar.Value))
                {
                    scalar.Value = expanded;
                }

                break;
        }
    }
}
