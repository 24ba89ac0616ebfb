using System.Runtime.CompilerServices;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Otlp;

namespace TraceSeal.Collector.Tests.Config;

/// <summary>
/// Configs from the Collector's documentation (Config/Upstream/*.yaml): each loads, or says why in one line per
/// key, exactly as NAME.expected has it. Files are not checked (their paths name another host's certificates).
/// </summary>
public sealed class UpstreamCorpusTests
{
    private static readonly string Corpus = Path.Combine(Path.GetDirectoryName(ThisFile())!, "Upstream");

    public static TheoryData<string> Configs() => new(Names());

    private static string[] Names() =>
        [.. Directory.GetFiles(Corpus, "*.yaml").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal)!];

    [Fact]
    public void The_corpus_holds_every_config_the_issue_names() =>
        Assert.Equal(
            ["debug-basic", "debug-readme", "default-otelcol", "done-when", "health-check-readme", "nop", "seed-mtls-receiver", "sending-queue"],
            Names());

    [Theory]
    [MemberData(nameof(Configs))]
    public void Each_upstream_config_loads_or_gives_one_line_per_key(string name)
    {
        string path = Path.Combine(Corpus, name + ".yaml");
        string[] expected = File.ReadAllLines(Path.Combine(Corpus, name + ".expected"));
        string[] actual;
        try
        {
            CollectorConfig config = CollectorConfigLoader.Load(path, new ConfigLoadOptions { CheckFiles = false, GetEnvironmentVariable = _ => null });
            actual = ["loads", .. config.Warnings.Select(w => $"{w.Line}:{w.Column}: {w.KeyPath}: {w.Message}")];
        }
        catch (ConfigException e)
        {
            actual = [.. e.Errors.Select(x => $"{x.Line}:{x.Column}: {x.KeyPath}: {x.Message}")];
        }

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void The_done_when_config_starts_a_health_check_and_a_sealed_queue_with_defaults()
    {
        CollectorConfig config = CollectorConfigLoader.Load(Path.Combine(Corpus, "done-when.yaml"), new ConfigLoadOptions { CheckFiles = false });

        var health = Assert.Single(config.Extensions);
        Assert.Equal(("health_check", "0.0.0.0:13133", "/"), (health.Name, health.Endpoint, health.Path));
        var queue = Assert.IsType<OtlpExporterSettings>(config.Exporters["otlp"]).Queue;
        Assert.True(queue.IsSealedQueue);
        Assert.Equal(Path.Combine(Corpus, "sending_queue", "otlp"), queue.Directory);
        Assert.Equal(Path.Combine(Corpus, "otlp.queue-key.pem"), queue.QueueKeyFile);
    }

    private static string ThisFile([CallerFilePath] string path = "") => path;
}
