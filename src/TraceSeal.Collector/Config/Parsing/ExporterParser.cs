using TraceSeal.Collector.Exporters.Debug;
using TraceSeal.Collector.Exporters.Discard;
using TraceSeal.Collector.Exporters.Nop;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Exporters.SealedStore;

namespace TraceSeal.Collector.Config;

/// <summary>Dispatches exporter types; upstream's plaintext-writing exporters get their own message.</summary>
internal static class ExporterParser
{
    public static readonly string[] Types = ["discard", "sealed_store", "otlp", "otlphttp", "debug", "nop"];

    /// <summary>Upstream exporters that put telemetry in plaintext on disk or in logs, with what to use instead.</summary>
    public static string? RefusalReason(string type) => type switch
    {
        "logging" => "the logging exporter writes telemetry in plaintext and was removed upstream; TraceSeal does not provide it: use debug (verbosity: basic logs counts only)",
        "file" => "the file exporter writes telemetry in plaintext; TraceSeal does not provide it: sealed_store writes it sealed",
        _ => null,
    };

    public static ExporterSettings? Parse(ConfigContext ctx, string id, string type, YamlMap map)
    {
        switch (type)
        {
            case "discard":
                map.CheckKeys([]);
                return new DiscardExporterSettings { Name = id };
            case "sealed_store":
                return SealedStoreParser.Parse(ctx, id, map);
            case "otlp":
                return OtlpExporterParser.Parse(ctx, id, map, OtlpExporterProtocol.Grpc);
            case "otlphttp":
                return OtlpExporterParser.Parse(ctx, id, map, OtlpExporterProtocol.Http);
            case "debug":
                return DebugExporterParser.Parse(ctx, id, map);
            case "nop":
                return NopExporterSettings.Parse(id, map);
            default:
                return null;
        }
    }
}
