using TraceSeal.Collector.Processors.Transform;

namespace TraceSeal.Collector.Processors.Attributes;

/// <summary>`attributes`: upstream's actions on span, log record and data point attributes, and its include / exclude.</summary>
internal sealed class AttributesSettings : AttributeActionsSettings
{
    /// <summary>Null = every item (no include / exclude), as upstream.</summary>
    public MatchConfig? Match { get; init; }

    protected override IProcessor Create(string id, AttributeActions actions) => new AttributesProcessor(id, actions, Match);
}
