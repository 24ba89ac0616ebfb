using Google.Protobuf;
using TraceSeal.Collector.Processors.Transform;

namespace TraceSeal.Collector.Processors.Resource;

/// <summary>
/// `resource`: applies its actions to the resource attributes of every resource group (spans, metrics, logs), as
/// upstream's resourceprocessor. A group without a resource gets one, so insert and upsert always have a map to write.
/// </summary>
internal sealed class ResourceProcessor(string id, AttributeActions actions) : TransformProcessor(id)
{
    public override bool Apply(IMessage request, TransformContext context)
    {
        bool changed = false;
        foreach (var resource in OtlpItems.Resources(request, create: true))
        {
            changed |= actions.Apply(resource.Attributes, context);
        }

        return changed;
    }
}
