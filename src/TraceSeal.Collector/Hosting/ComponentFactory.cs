using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Processors;
using TraceSeal.Collector.Storage;

namespace TraceSeal.Collector.Hosting;

/// <summary>Validated settings → running components. The one place that knows every component type.</summary>
internal static class ComponentFactory
{
    /// <param name="loggerFactory">Null = no logs (the host passes its factory once it is wired through).</param>
    public static IExporter CreateExporter(string id, ExporterSettings settings, string configPath, ILoggerFactory? loggerFactory = null) => settings switch
    {
        DiscardExporterSettings => new DiscardExporter(id),
        // Loads the recipient files and refuses any that holds a private key (the collector never opens).
        SealedStoreExporterSettings s => SealedStoreExporter.Create(
            id, s, configPath, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("TraceSeal.Storage")),
        // otlp / otlphttp: pinned-CA TLS, retry per the OTLP spec; acknowledges once the batch is in the sealed
        // sending queue (sending_queue.directory), else only after upstream accepted.
        OtlpExporterSettings o => Exporters.Otlp.OtlpForwardingExporter.Create(
            id, o, configPath, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("TraceSeal.Exporters.Otlp")),
        // Every exporter type the loader accepts is built above; reaching this is a bug, and refusing beats dropping.
        _ => throw new InvalidOperationException($"{configPath}: exporters::{id}: no exporter is built for {settings.GetType().Name}"),
    };

    public static IProcessor CreateProcessor(string id, ProcessorSettings settings, ILogger logger) => settings switch
    {
        MemoryLimiterSettings m => new MemoryLimiter(
            id,
            m.CheckInterval,
            m.LimitMib is > 0 ? m.LimitMib.Value * 1024 * 1024 : MemoryLimiter.PercentOfAvailable(m.LimitPercentage ?? 0),
            m.SpikeLimitMib is > 0 ? m.SpikeLimitMib.Value * 1024 * 1024 : MemoryLimiter.PercentOfAvailable(m.SpikeLimitPercentage ?? 0),
            logger),
        BatchSettings => new BatchProcessor(id),
        _ => throw new InvalidOperationException($"processors::{id}: unsupported processor settings {settings.GetType().Name}"),
    };
}
