namespace TraceSeal.Collector.Config;

/// <summary>Dispatches exporter types; upstream's plaintext-writing exporters get their own message.</summary>
internal static class ExporterParser
{
    public static readonly string[] Types = ["discard", "sealed_store", "otlp", "otlphttp"];

    /// <summary>Upstream exporters that put telemetry in plaintext on disk or in logs.</summary>
    public static readonly string[] PlaintextTypes = ["debug", "logging", "file"];

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
            default:
                return null;
        }
    }
}
