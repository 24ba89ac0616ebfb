using TraceSeal.Collector.Processors.Transform;

namespace TraceSeal.Collector.Processors.Attributes;

/// <summary>`attributes`: upstream's actions on span, log record and data point attributes.</summary>
internal sealed class AttributesSettings : AttributeActionsSettings
{
    protected override IProcessor Create(string id, AttributeActions actions) => new AttributesProcessor(id, actions);
}
