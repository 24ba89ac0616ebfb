using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Exporters.Debug;
using TraceSeal.Collector.Exporters.Discard;
using TraceSeal.Collector.Exporters.Nop;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Extensions.HealthCheck;
using TraceSeal.Collector.Processors;
using TraceSeal.Collector.Processors.Attributes;
using TraceSeal.Collector.Processors.Batch;
using TraceSeal.Collector.Processors.MemoryLimiter;
using TraceSeal.Collector.Processors.Redaction;
using TraceSeal.Collector.Processors.Resource;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Receivers.Nop;
using TraceSeal.Collector.Storage;

namespace TraceSeal.Collector.Components;

/// <summary>
/// Every component the collector provides, one line each: kind, type name (as written in the YAML), stability of
/// TraceSeal's implementation, its folder (settings, parser, factory, README) and its parse and build functions.
/// The loader's "unknown type (supported: ...)" lists, the parsers' dispatch and ComponentFactory all read this
/// table, so adding a component is its folder plus one line here. The order of each kind is the order of the
/// "supported:" lists in error messages. Upstream components TraceSeal refuses on purpose are in <see cref="Refused"/>.
/// </summary>
internal static class ComponentTable
{
    public static readonly IReadOnlyList<ComponentEntry> All =
    [
        Receiver("otlp", Stability.Stable, "Receivers", ReceiverParser.Parse),
        Receiver("nop", Stability.Beta, "Receivers/Nop", (_, id, m) => NopReceiverSettings.Parse(id, m)),

        Processor<MemoryLimiterSettings>("memory_limiter", Stability.Beta, "Processors/MemoryLimiter", MemoryLimiterParser.Parse, MemoryLimiterFactory.Create),
        Processor<BatchSettings>("batch", Stability.Beta, "Processors/Batch", BatchParser.Parse, (id, _, _) => new BatchProcessor(id)),
        Processor<AttributesSettings>(AttributesParser.Type, Stability.Alpha, "Processors/Attributes", AttributesParser.Parse, SelfBuilt),
        Processor<ResourceSettings>(ResourceParser.Type, Stability.Alpha, "Processors/Resource", ResourceParser.Parse, SelfBuilt),
        Processor<RedactionSettings>(RedactionParser.Type, Stability.Alpha, "Processors/Redaction", RedactionParser.Parse, SelfBuilt),

        Exporter<DiscardExporterSettings>("discard", Stability.Stable, "Exporters/Discard",
            (_, id, m) => DiscardExporterSettings.Parse(id, m), (id, _, _) => new DiscardExporter(id)),
        // Loads the recipient files and refuses any that holds a private key (the collector never opens).
        Exporter<SealedStoreExporterSettings>("sealed_store", Stability.Beta, "Exporters/SealedStore", SealedStoreParser.Parse,
            (id, s, b) => SealedStoreExporter.Create(id, s, b.ConfigPath, b.Logger("TraceSeal.Storage")),
            backlogBytes: s => s.Wal.MaxBacklogBytes),
        // otlp / otlphttp: pinned-CA TLS, retry per the OTLP spec; acknowledges once the batch is in the sealed
        // sending queue (sending_queue.directory), else only after upstream accepted.
        Exporter<OtlpExporterSettings>("otlp", Stability.Beta, "Exporters/Otlp",
            (ctx, id, m) => OtlpExporterParser.Parse(ctx, id, m, OtlpExporterProtocol.Grpc), CreateOtlp, OtlpBacklogBytes),
        Exporter<OtlpExporterSettings>("otlphttp", Stability.Beta, "Exporters/Otlp",
            (ctx, id, m) => OtlpExporterParser.Parse(ctx, id, m, OtlpExporterProtocol.Http), CreateOtlp, OtlpBacklogBytes),
        Exporter<DebugExporterSettings>("debug", Stability.Beta, "Exporters/Debug", DebugExporterParser.Parse,
            (id, s, b) => new DebugExporter(id, s, b.Logger("TraceSeal.Exporters.Debug"))),
        Exporter<NopExporterSettings>("nop", Stability.Beta, "Exporters/Nop", (_, id, m) => NopExporterSettings.Parse(id, m), (id, _, _) => new NopExporter(id)),

        Extension("health_check", Stability.Beta, "Extensions/HealthCheck", HealthCheckParser.Parse),
    ];

    /// <summary>Upstream components that put telemetry in plaintext or open an unauthenticated port, with what to use instead.</summary>
    public static readonly IReadOnlyList<(ComponentKind Kind, string Type, string Reason)> Refused =
    [
        (ComponentKind.Exporter, "logging", "the logging exporter writes telemetry in plaintext and was removed upstream; TraceSeal does not provide it: use debug (verbosity: basic logs counts only)"),
        (ComponentKind.Exporter, "file", "the file exporter writes telemetry in plaintext; TraceSeal does not provide it: sealed_store writes it sealed"),
        (ComponentKind.Extension, "pprof", "pprof serves the process's memory and CPU profiles over plain HTTP, and memory holds telemetry in flight; profile with dotnet-trace or dotnet-counters on the host instead"),
        (ComponentKind.Extension, "zpages", "zpages shows recent spans and pipeline internals over plain HTTP without authentication; use /metrics and /readyz on service::telemetry::metrics::address"),
        (ComponentKind.Extension, "file_storage", "file_storage keeps queued telemetry in plaintext at rest; the otlp exporters' sending_queue is sealed on disk without it (enabled: true alone)"),
        (ComponentKind.Extension, "memory_ballast", "memory_ballast was removed upstream; use the memory_limiter processor (limit_percentage)"),
    ];

    /// <summary>The type names of one kind, in table order (the "supported: ..." list of error messages).</summary>
    public static string[] Types(ComponentKind kind) => [.. All.Where(c => c.Kind == kind).Select(c => c.Type)];

    public static ComponentEntry? Find(ComponentKind kind, string type) =>
        All.FirstOrDefault(c => c.Kind == kind && string.Equals(c.Type, type, StringComparison.Ordinal));

    /// <summary>Why TraceSeal refuses an upstream component of this kind and type; null when it does not.</summary>
    public static string? RefusalReason(ComponentKind kind, string type) =>
        Refused.FirstOrDefault(r => r.Kind == kind && string.Equals(r.Type, type, StringComparison.Ordinal)).Reason;

    /// <summary>The entry for a component id (`otlp/upstream` → `otlp`); throws for an id the table does not hold (a TraceSeal bug).</summary>
    public static ComponentEntry For(ComponentKind kind, string id)
    {
        ComponentId.TryParse(id, out var type, out _);
        return Find(kind, type) ?? throw new InvalidOperationException($"{Section(kind)}::{id}: no {kind.ToString().ToLowerInvariant()} type \"{type}\" is registered");
    }

    public static string Section(ComponentKind kind) => kind switch
    {
        ComponentKind.Receiver => "receivers",
        ComponentKind.Processor => "processors",
        ComponentKind.Exporter => "exporters",
        _ => "extensions",
    };

    private static IProcessor SelfBuilt(string id, IProcessorFactory settings, ILogger logger) => settings.Create(id, logger);

    private static IExporter CreateOtlp(string id, OtlpExporterSettings s, ExporterBuild b) =>
        OtlpForwardingExporter.Create(id, s, b.ConfigPath, b.Logger("TraceSeal.Exporters.Otlp"), b.Batch);

    private static long? OtlpBacklogBytes(OtlpExporterSettings s) => s.Queue.IsSealedQueue ? s.Queue.MaxBacklogBytes : null;

    private static ComponentEntry Receiver<T>(string type, Stability stability, string folder, ComponentParser<T> parse)
        where T : class => new(ComponentKind.Receiver, type, stability, folder, parse);

    private static ComponentEntry Extension<T>(string type, Stability stability, string folder, ComponentParser<T> parse)
        where T : class => new(ComponentKind.Extension, type, stability, folder, parse);

    private static ComponentEntry Processor<T>(string type, Stability stability, string folder, ComponentParser<T> parse, Func<string, T, ILogger, IProcessor> create)
        where T : ProcessorSettings => new(ComponentKind.Processor, type, stability, folder, parse)
        {
            CreateProcessor = (id, settings, logger) => create(id, Cast<T>(ComponentKind.Processor, id, settings), logger),
        };

    private static ComponentEntry Exporter<T>(
        string type, Stability stability, string folder, ComponentParser<T> parse, Func<string, T, ExporterBuild, IExporter> create,
        Func<T, long?>? backlogBytes = null)
        where T : ExporterSettings => new(ComponentKind.Exporter, type, stability, folder, parse)
        {
            CreateExporter = (id, settings, build) => create(id, Cast<T>(ComponentKind.Exporter, id, settings), build),
            BacklogBytes = backlogBytes is null ? null : settings => settings is T t ? backlogBytes(t) : null,
        };

    private static T Cast<T>(ComponentKind kind, string id, object settings) => settings is T t
        ? t
        // Every type the loader accepts is built from its own settings; reaching this is a bug, and refusing beats dropping.
        : throw new InvalidOperationException($"{Section(kind)}::{id}: no {kind.ToString().ToLowerInvariant()} is built for {settings.GetType().Name}");
}
