using Google.Protobuf;
using TraceSeal.Collector.Processors.Transform;

namespace TraceSeal.Collector.Processors.Attributes;

/// <summary>
/// `attributes`: applies its actions, in order, to every span's attributes (traces), every log record's (logs) and
/// every data point's (metrics), as upstream's attributesprocessor. Resource attributes are the `resource`
/// processor's; event and link attributes are not touched (as upstream; `redaction` covers them).
/// </summary>
internal sealed class AttributesProcessor(string id, AttributeActions actions) : TransformProcessor(id)
{
    public override bool Apply(IMessage request) => OtlpItems.ApplyToEach(OtlpItems.ItemAttributes(request), actions.Apply);
}
