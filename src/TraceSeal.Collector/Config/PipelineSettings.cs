using TraceSeal.Otlp;

namespace TraceSeal.Collector.Config;

/// <summary>One `service::pipelines` entry; every id it lists is defined (the loader checks).</summary>
internal sealed class PipelineSettings
{
    /// <summary>Pipeline id as written: `traces`, `traces/audit`, `metrics`, `logs`.</summary>
    public required string Name { get; init; }

    /// <summary>From the part of the id before `/`.</summary>
    public required OtlpSignal Signal { get; init; }

    public required IReadOnlyList<string> Receivers { get; init; }

    /// <summary>In order; `memory_limiter`, when present, is first.</summary>
    public required IReadOnlyList<string> Processors { get; init; }

    public required IReadOnlyList<string> Exporters { get; init; }
}
