using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Exporters.Nop;

/// <summary>`nop` (upstream exporter/nopexporter): accepts and drops everything; no keys.</summary>
internal sealed class NopExporterSettings : ExporterSettings
{
    public static NopExporterSettings Parse(string id, YamlMap m)
    {
        m.CheckKeys([]);
        return new NopExporterSettings { Name = id };
    }
}
