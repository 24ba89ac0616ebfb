using TraceSeal.Collector.Processors.Transform;

namespace TraceSeal.Collector.Processors.Resource;

/// <summary>`resource`: upstream's actions (under `attributes`) on resource attributes.</summary>
internal sealed class ResourceSettings : AttributeActionsSettings
{
    protected override IProcessor Create(string id, AttributeActions actions) => new ResourceProcessor(id, actions);
}
