using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Receivers.Nop;

/// <summary>
/// `nop` (upstream receiver/nopreceiver): receives nothing and opens no port; no keys. A pipeline may list it so
/// that it is valid without a listener (for example one fed only later, or kept while an exporter is tried out).
/// </summary>
internal sealed class NopReceiverSettings
{
    public required string Name { get; init; }

    public static NopReceiverSettings Parse(string id, YamlMap m)
    {
        m.CheckKeys([]);
        return new NopReceiverSettings { Name = id };
    }
}
