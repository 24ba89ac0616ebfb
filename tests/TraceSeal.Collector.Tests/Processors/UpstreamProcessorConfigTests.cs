using System.Runtime.CompilerServices;
using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Tests.Processors;

/// <summary>
/// The attributes, resource and redaction examples of upstream's READMEs (Processors/Upstream/*.yaml): each loads, or
/// says why in one line per key, exactly as NAME.expected has it. Files are not checked (another host's paths).
/// </summary>
public sealed class UpstreamProcessorConfigTests
{
    private static readonly string Corpus = Path.Combine(Path.GetDirectoryName(ThisFile())!, "Upstream");

    public static TheoryData<string> Configs() =>
        new(Directory.GetFiles(Corpus, "*.yaml").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal)!);

    [Theory]
    [MemberData(nameof(Configs))]
    public void each_upstream_processor_example_loads_or_gives_one_line_per_key(string name)
    {
        string[] expected = File.ReadAllLines(Path.Combine(Corpus, name + ".expected"));
        string[] actual;
        try
        {
            var config = CollectorConfigLoader.Load(Path.Combine(Corpus, name + ".yaml"), new ConfigLoadOptions { CheckFiles = false, GetEnvironmentVariable = _ => null });
            actual = ["loads", .. config.Warnings.Select(w => $"{w.Line}:{w.Column}: {w.KeyPath}: {w.Message}")];
        }
        catch (ConfigException e)
        {
            actual = [.. e.Errors.Select(x => $"{x.Line}:{x.Column}: {x.KeyPath}: {x.Message}")];
        }

        Assert.Equal(expected, actual);
    }

    private static string ThisFile([CallerFilePath] string path = "") => path;
}
