using TraceSeal.Collector.Extensions.HealthCheck;
using TraceSeal.Collector.Receivers;

namespace TraceSeal.Collector.Config;

/// <summary>A loaded and validated collector config: only ever constructed by <see cref="CollectorConfigLoader"/>.</summary>
internal sealed class CollectorConfig
{
    /// <summary>The file the config came from, as given; used in messages.</summary>
    public required string SourcePath { get; init; }

    public required IReadOnlyList<OtlpReceiverSettings> Receivers { get; init; }

    /// <summary>Ids of `nop` receivers: valid in pipelines, nothing listens.</summary>
    public IReadOnlyList<string> NopReceivers { get; init; } = [];

    /// <summary>Extensions listed in `service::extensions`, in that order (defined but unlisted ones do not start).</summary>
    public IReadOnlyList<HealthCheckSettings> Extensions { get; init; } = [];

    /// <summary>Component id (`batch`, `memory_limiter/hard`) to settings.</summary>
    public required IReadOnlyDictionary<string, ProcessorSettings> Processors { get; init; }

    /// <summary>Component id (`sealed_store`, `otlp/upstream`) to settings.</summary>
    public required IReadOnlyDictionary<string, ExporterSettings> Exporters { get; init; }

    public required IReadOnlyList<PipelineSettings> Pipelines { get; init; }

    /// <summary>Security-relevant opt-outs and unused components; print them at every start.</summary>
    public required IReadOnlyList<ConfigWarning> Warnings { get; init; }

    public TelemetrySettings Telemetry { get; init; } = new();

    /// <summary>`service::admission`: the in-flight byte budget shared by every receiver.</summary>
    public AdmissionSettings Admission { get; init; } = new();
}
