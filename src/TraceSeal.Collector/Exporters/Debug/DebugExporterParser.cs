using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Exporters.Debug;

/// <summary>Reads `exporters::debug` (upstream keys plus TraceSeal's `allow_plaintext`).</summary>
internal static class DebugExporterParser
{
    private static readonly string[] Keys = ["verbosity", "sampling_initial", "sampling_thereafter", "use_internal_logger", "allow_plaintext"];
    private static readonly string[] Verbosities = ["basic", "normal", "detailed"];

    public static DebugExporterSettings Parse(ConfigContext ctx, string id, YamlMap m)
    {
        m.CheckKeys(Keys);
        var d = new DebugExporterSettings { Name = id };
        var verbosity = m.OneOf("verbosity", Verbosities) switch
        {
            "normal" => DebugVerbosity.Normal,
            "detailed" => DebugVerbosity.Detailed,
            _ => DebugVerbosity.Basic,
        };
        bool allowPlaintext = m.Bool("allow_plaintext") ?? false;
        if (verbosity != DebugVerbosity.Basic)
        {
            if (allowPlaintext)
            {
                ctx.Warn(m.ValueNode("verbosity")!, m.Child("verbosity"),
                    $"plaintext opt-out: {m.String("verbosity")} writes telemetry contents (attributes, log bodies) to the collector's output unencrypted; use basic to log counts only");
            }
            else
            {
                ctx.Error(m.ValueNode("verbosity")!, m.Child("verbosity"),
                    $"{m.String("verbosity")} writes telemetry contents (attributes such as user ids, queries, tokens) to the collector's output in plaintext; " +
                    "use basic (counts only), or set allow_plaintext: true to opt in explicitly (verify config reports it)");
            }
        }
        else if (allowPlaintext)
        {
            ctx.Warn(m.ValueNode("allow_plaintext")!, m.Child("allow_plaintext"), "has no effect with verbosity: basic (counts only); remove it");
        }

        return new DebugExporterSettings
        {
            Name = id,
            Verbosity = verbosity,
            SamplingInitial = (int?)m.Integer("sampling_initial", 1, int.MaxValue) ?? d.SamplingInitial,
            SamplingThereafter = (int?)m.Integer("sampling_thereafter", 1, int.MaxValue) ?? d.SamplingThereafter,
            UseInternalLogger = m.Bool("use_internal_logger") ?? d.UseInternalLogger,
            AllowPlaintext = allowPlaintext,
        };
    }
}
