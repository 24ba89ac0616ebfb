using Microsoft.Extensions.Logging;

namespace TraceSeal.Collector.Processors;

/// <summary>
/// Settings that build their own processor, so a new processor is its folder (settings, parser, processor, README)
/// plus one line in Components/ComponentTable.cs, whose factory for them is this method.
/// </summary>
internal interface IProcessorFactory
{
    /// <summary>Throws <see cref="InvalidOperationException"/> naming the file when a referenced file (a key) cannot be used.</summary>
    IProcessor Create(string id, ILogger logger);
}
