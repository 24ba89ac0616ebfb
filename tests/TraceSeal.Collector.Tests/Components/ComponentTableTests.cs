using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using TraceSeal.Collector.Components;
using TraceSeal.Collector.Config;
using YamlDotNet.RepresentationModel;

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

    [Fact]
    public void Every_component_has_a_folder_README_that_names_every_key_its_parser_accepts()
    {
        foreach (var component in ComponentTable.All)
        {
            string readme = Path.Combine(RepoRoot(), "src", "TraceSeal.Collector", component.Folder, "README.md");
            Assert.True(File.Exists(readme), $"{component.Kind} {component.Type}: no README.md in {component.Folder}");
            string text = File.ReadAllText(readme);
            foreach (string key in AcceptedKeys(component))
            {
                Assert.True(
                    Regex.IsMatch(text, "`" + Regex.Escape(key) + "(`|::|\\[)"),
                    $"{component.Folder}/README.md does not document `{key}`, a key of {component.Kind.ToString().ToLowerInvariant()} {component.Type}");
            }
        }
    }

    [Fact]
    public void The_components_table_of_the_docs_lists_every_component_with_its_kind_and_stability()
    {
        string docs = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "configuration.md"));
        foreach (var component in ComponentTable.All)
        {
            string row = $"| {component.Kind.ToString().ToLowerInvariant()} | `{component.Type}` | {component.Stability.ToString().ToLowerInvariant()} |";
            Assert.True(docs.Contains(row, StringComparison.Ordinal), $"docs/configuration.md (Components) has no row starting {row}");
        }

        foreach (var refused in ComponentTable.Refused)
        {
            Assert.Contains($"`{refused.Type}`", docs, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_key_probe_reads_the_parsers_own_list()
    {
        Assert.Equal(["send_batch_size", "timeout", "send_batch_max_size"], AcceptedKeys(ComponentTable.Find(ComponentKind.Processor, "batch")!));
        Assert.Empty(AcceptedKeys(ComponentTable.Find(ComponentKind.Exporter, "discard")!));
    }

    /// <summary>The top-level keys a component's parser accepts, as its "unknown key" message lists them.</summary>
    private static string[] AcceptedKeys(ComponentEntry component)
    {
        var ctx = new ConfigContext("probe.yaml", Path.GetTempPath(), ConfigLoadOptions.Default);
        var stream = new YamlStream();
        stream.Load(new StringReader("zz_probe: 1"));
        var node = (YamlMappingNode)stream.Documents[0].RootNode;
        component.Parse(ctx, component.Type, YamlMap.From(ctx, node, node, "probe")!);
        var error = Assert.Single(ctx.Errors, e => e.Message.StartsWith("unknown key \"zz_probe\"", StringComparison.Ordinal));
        string list = Regex.Match(error.Message, @"\(supported: (.*)\)$").Groups[1].Value;
        return list.Split(", ", StringSplitOptions.RemoveEmptyEntries);
    }

    private static string RepoRoot([CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", ".."));
}
