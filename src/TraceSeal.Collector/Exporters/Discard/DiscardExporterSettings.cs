using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Exporters.Discard;

/// <summary>`discard` (TraceSeal): counts and drops; for load tests with nothing written anywhere.</summary>
internal sealed class DiscardExporterSettings : ExporterSettings
{
    public static DiscardExporterSettings Parse(string id, YamlMap m)
    {
        m.CheckKeys([]);
        return new DiscardExporterSettings { Name = id };
    }
}
