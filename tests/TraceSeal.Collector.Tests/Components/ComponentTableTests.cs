using TraceSeal.Collector.Components;

namespace TraceSeal.Collector.Tests.Components;

/// <summary>The component table is the one list the loader, its messages and the factories read.</summary>
public sealed class ComponentTableTests
{
    [Fact]
    public void Each_type_is_registered_once_per_kind_and_builders_exist_where_the_factory_needs_them()
    {
        foreach (var group in ComponentTable.All.GroupBy(c => (c.Kind, c.Type)))
        {
            Assert.True(group.Count() == 1, $"{group.Key.Kind} {group.Key.Type} is registered {group.Count()} times");
        }

        Assert.All(ComponentTable.All.Where(c => c.Kind == ComponentKind.Exporter), c => Assert.NotNull(c.CreateExporter));
        Assert.All(ComponentTable.All.Where(c => c.Kind == ComponentKind.Processor), c => Assert.NotNull(c.CreateProcessor));
        Assert.All(ComponentTable.Refused, r => Assert.Null(ComponentTable.Find(r.Kind, r.Type)));
    }

    [Fact]
    public void The_supported_lists_of_messages_are_the_table_in_order()
    {
        Assert.Equal(["otlp", "nop"], ComponentTable.Types(ComponentKind.Receiver));
        Assert.Equal(["memory_limiter", "batch", "attributes", "resource", "redaction"], ComponentTable.Types(ComponentKind.Processor));
        Assert.Equal(["discard", "sealed_store", "otlp", "otlphttp", "debug", "nop"], ComponentTable.Types(ComponentKind.Exporter));
        Assert.Equal(["health_check"], ComponentTable.Types(ComponentKind.Extension));
    }
}
