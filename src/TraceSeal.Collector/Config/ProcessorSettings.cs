namespace TraceSeal.Collector.Config;

/// <summary>Settings of one processor; the concrete type says which component it is.</summary>
internal abstract class ProcessorSettings
{
    /// <summary>Component id as written, e.g. `batch` or `memory_limiter/hard`.</summary>
    public required string Name { get; init; }
}
