using TraceSeal.Collector.Config;
using TraceSeal.Collector.Processors.Transform;

namespace TraceSeal.Collector.Processors.Attributes;

/// <summary>Reads `processors::attributes[/name]` with upstream's keys: `actions`, `include`, `exclude`, plus `hash_key_file`.</summary>
internal static class AttributesParser
{
    public const string Type = "attributes";

    private static readonly string[] Keys = ["actions", "include", "exclude", AttributeActionsParser.HashKeyFile];

    public static AttributesSettings? Parse(ConfigContext ctx, string id, YamlMap m)
    {
        m.CheckKeys(Keys);
        int errors = ctx.Errors.Count;
        var match = MatchParser.Parse(ctx, m);
        var settings = AttributeActionsParser.Settings(ctx, m, "actions", (actions, keyFile) => new AttributesSettings { Name = id, Actions = actions, HashKeyFile = keyFile, Match = match });
        return ctx.Errors.Count == errors ? settings : null;
    }

    /// <summary>
    /// Once pipelines are known: each property written under include / exclude must exist for the signal of every
    /// pipeline that lists the processor (upstream's ValidateForSpans / ValidateForLogs / ValidateForMetrics).
    /// </summary>
    public static void CheckPipelines(ConfigContext ctx, IReadOnlyDictionary<string, ProcessorSettings> processors, IEnumerable<PipelineSettings> pipelines)
    {
        var checkedFor = new HashSet<(string, Otlp.OtlpSignal)>();
        foreach (var pipeline in pipelines)
        {
            foreach (var id in pipeline.Processors)
            {
                if (processors.TryGetValue(id, out var settings) && settings is AttributesSettings { Match: { } match } && checkedFor.Add((id, pipeline.Signal)))
                {
                    MatchParser.CheckSignal(ctx, match, pipeline.Signal, pipeline.Name);
                }
            }
        }
    }
}
