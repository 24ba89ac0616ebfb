using YamlDotNet.RepresentationModel;
using TraceSeal.Verify.Findings;
using static TraceSeal.Verify.Config.YamlNav;

namespace TraceSeal.Verify.Config;

/// <summary>Inside the collector: memory is bounded before anything buffers, batches are bounded.</summary>
internal static class CollectorChecks
{
    public static void Run(LintContext context, YamlMappingNode root)
    {
        foreach (var (idNode, body) in Entries(Mapping(Get(root, "processors"))))
        {
            if (TypeOf(idNode.Value!) == "batch")
            {
                context.BatchProcessors++;
            }

            if (TypeOf(idNode.Value!) == "batch" && Entry(Mapping(body), "send_batch_max_size").Key is null)
            {
                context.Add(Catalogue.BatchWithoutMax, idNode, $"processors.{idNode.Value} has no send_batch_max_size: batches grow without bound");
            }
        }

        var service = Mapping(Get(root, "service"));
        foreach (var (nameNode, body) in Entries(Mapping(Get(service, "pipelines"))))
        {
            string where = $"service.pipelines.{nameNode.Value}";
            context.Pipelines++;
            var processors = Get(Mapping(body), "processors") as YamlSequenceNode;
            var items = processors?.Children ?? [];
            int index = -1;
            for (int i = 0; i < items.Count; i++)
            {
                if (Text(items[i]) is { } id && TypeOf(id) == "memory_limiter")
                {
                    index = i;
                    break;
                }
            }

            if (index < 0)
            {
                context.Add(Catalogue.NoMemoryLimiter, nameNode, $"{where} has no memory_limiter: overload is buffered, not refused");
            }
            else if (index > 0)
            {
                context.Add(Catalogue.MemoryLimiterNotFirst, items[index],
                    $"{where}: memory_limiter is processor #{index + 1}, after {Text(items[0])}");
            }
        }
    }
}
