using Microsoft.Extensions.Logging;

namespace TraceSeal.Collector.Processors;

/// <summary>
/// Settings that build their own processor, so a new processor is its folder (settings, parser, processor, README)
/// plus one line in ProcessorParser, not a case in a central switch (ComponentFactory asks settings for this first).
/// </summary>
internal interface IProcessorFactory
{
    /// <summary>Throws <see cref="InvalidOperationException"/> naming the file when a referenced file (a key) cannot be used.</summary>
    IProcessor Create(string id, ILogger logger);
}
