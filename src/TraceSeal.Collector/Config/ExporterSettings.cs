namespace TraceSeal.Collector.Config;

/// <summary>Settings of one exporter; the concrete type says which component it is.</summary>
internal abstract class ExporterSettings
{
    /// <summary>Component id as written, e.g. `sealed_store` or `otlp/upstream`.</summary>
    public required string Name { get; init; }
}
