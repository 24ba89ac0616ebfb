using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Processors;
using TraceSeal.Collector.Processors.Batch;

namespace TraceSeal.Collector.Components;

/// <summary>The four sections of a collector config that hold components.</summary>
internal enum ComponentKind
{
    Receiver,
    Processor,
    Exporter,
    Extension,
}

/// <summary>
/// Stability of TraceSeal's implementation (upstream's levels, not upstream's rating of its own component):
/// alpha = new, its keys may still change; beta = in use, keys kept compatible, behaviour may be refined;
/// stable = nothing left to change.
/// </summary>
internal enum Stability
{
    Alpha,
    Beta,
    Stable,
}

/// <summary>
/// Reads one component's YAML mapping (`id` as written, e.g. `otlp/edge`); reports every problem on
/// <paramref name="ctx"/> with its key and returns null when the component cannot be built.
/// </summary>
internal delegate T? ComponentParser<out T>(ConfigContext ctx, string id, YamlMap map)
    where T : class;

/// <summary>What an exporter factory may need beyond its settings.</summary>
/// <param name="ConfigPath">The config file, for messages and relative paths.</param>
/// <param name="LoggerFactory">Null = no logs.</param>
/// <param name="Batch">For otlp / otlphttp: ComponentFactory.BatchFor (the sealed queue's sender merges by it); null = no merging.</param>
internal sealed record ExporterBuild(string ConfigPath, ILoggerFactory? LoggerFactory, BatchSettings? Batch)
{
    public ILogger Logger(string category) => (LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger(category);
}

/// <summary>One line of <see cref="ComponentTable"/>.</summary>
internal sealed class ComponentEntry(ComponentKind kind, string type, Stability stability, string folder, ComponentParser<object> parse)
{
    public ComponentKind Kind { get; } = kind;

    /// <summary>The type as written in the YAML (`otlp` in `otlp/edge`).</summary>
    public string Type { get; } = type;

    public Stability Stability { get; } = stability;

    /// <summary>Under src/TraceSeal.Collector: settings, parser, factory and README.md (its settings table).</summary>
    public string Folder { get; } = folder;

    public ComponentParser<object> Parse { get; } = parse;

    /// <summary>Processors only: validated settings → the running processor.</summary>
    public Func<string, ProcessorSettings, ILogger, IProcessor>? CreateProcessor { get; init; }

    /// <summary>Exporters only: validated settings → the exporter (nothing is written or sent before the host starts).</summary>
    public Func<string, ExporterSettings, ExporterBuild, IExporter>? CreateExporter { get; init; }

    /// <summary>Exporters with a sealed on-disk backlog: its byte capacity (otelcol_exporter_queue_capacity); null = none.</summary>
    public Func<ExporterSettings, long?>? BacklogBytes { get; init; }
}
