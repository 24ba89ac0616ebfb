using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Extensions.HealthCheck;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Processors;
using TraceSeal.Collector.Processors.MemoryLimiter;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Telemetry;

namespace TraceSeal.Collector.Hosting;

/// <summary>
/// The running collector: exporters first, then receivers (so nothing is accepted before it can be
/// delivered); stopped in the reverse order, so receivers drain into exporters that still run.
/// </summary>
internal sealed class CollectorHost : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly IReadOnlyList<IProcessor> _processors;
    private readonly List<IExporter> _startedExporters = [];
    private readonly List<OtlpReceiver> _startedReceivers = [];
    private bool _stopped;
    private ILoggerFactory? _telemetryLoggers;
    private TelemetryServer? _telemetry;
    private HealthCheckExtensions _extensions = new([]);

    private CollectorHost(
        CollectorConfig config,
        IReadOnlyDictionary<string, IExporter> exporters,
        IReadOnlyList<IProcessor> processors,
        IReadOnlyList<OtlpReceiver> receivers,
        AdmissionBudget admission,
        ILogger logger)
    {
        Config = config;
        Admission = admission;
        Exporters = exporters;
        _processors = processors;
        Receivers = receivers;
        _logger = logger;
    }

    public CollectorConfig Config { get; }
    public IReadOnlyDictionary<string, IExporter> Exporters { get; }
    public IReadOnlyList<OtlpReceiver> Receivers { get; }

    /// <summary>The in-flight byte budget every receiver shares (`service::admission`).</summary>
    public AdmissionBudget Admission { get; }

    /// <summary>The `memory_limiter` instances (one per id, however many pipelines list it).</summary>
    public IReadOnlyList<MemoryLimiterProcessor> MemoryLimiters => _processors.OfType<MemoryLimiterProcessor>().ToList();

    /// <summary>The self-telemetry listener (/metrics, /healthz, /readyz); null unless requested at <see cref="Create"/>.</summary>
    public TelemetryServer? Telemetry => _telemetry;

    /// <summary>The health_check extensions listed in service::extensions.</summary>
    public IReadOnlyList<HealthCheckExtension> HealthChecks => _extensions.All;

    /// <summary>Builds every component of a validated config; nothing listens or writes until <see cref="StartAsync"/>.</summary>
    /// <param name="selfTelemetry">
    /// Serve service::telemetry::metrics::address (default 127.0.0.1:8888). Opt-in so that in-process hosts (tests,
    /// several collectors in one process) do not all compete for the default port; the CLI turns it on.
    /// </param>
    public static CollectorHost Create(CollectorConfig config, ILoggerFactory loggerFactory, bool selfTelemetry = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var logger = loggerFactory.CreateLogger("TraceSeal.Collector");

        // Before any component touches the disk: every path it writes or trusts must be ours alone.
        CheckPaths(config);

        var exporters = new Dictionary<string, IExporter>(StringComparer.Ordinal);
        foreach (var (id, settings) in config.Exporters)
        {
            exporters[id] = ComponentFactory.CreateExporter(id, settings, config.SourcePath, loggerFactory, ComponentFactory.BatchFor(config, id));
        }

        var processors = new Dictionary<string, IProcessor>(StringComparer.Ordinal);
        foreach (var (id, settings) in config.Processors)
        {
            processors[id] = ComponentFactory.CreateProcessor(id, settings, loggerFactory.CreateLogger("TraceSeal.Processors"));
        }

        // Pipelines export through counting wrappers (otelcol_exporter_* metrics, write latency); the host keeps the exporters.
        var counted = exporters.ToDictionary(e => e.Key, e => ComponentFactory.Instrument(e.Value, config.Exporters[e.Key]), StringComparer.Ordinal);
        // Forwarders that read a sealed store's WAL are not called by the pipelines: the store's fsync acknowledges
        // (after Instrument: their queue capacity is the store's WAL backlog limit).
        var walForwarders = WalForwarding.Attach(config, exporters, logger);
        var pipelines = config.Pipelines.Select(p => new TelemetryPipeline(
            p.Name,
            p.Signal,
            p.Processors.Select(id => processors[id]).ToArray(),
            p.Exporters.Where(id => !walForwarders.Contains(id)).Select(id => counted[id]).ToArray())).ToList();

        // One budget for the whole collector: the memory it protects is the process's, whichever port bytes arrive on.
        var admission = new AdmissionBudget(config.Admission.EffectiveBytes(config.Receivers));
        ReceiverLog.AdmissionBudget(logger, admission.CapacityBytes / (1024 * 1024), config.Admission.MaxInFlightBytes is null
            ? $"default: 1/{AdmissionSettings.DefaultDivisor} of the {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024)} MiB available to the process, within {AdmissionSettings.DefaultFloorBytes / (1024 * 1024)} MiB-{AdmissionSettings.DefaultCeilingBytes / (1024 * 1024)} MiB and at least one largest request"
            : "service::admission::max_in_flight_bytes");
        var receivers = new List<OtlpReceiver>();
        foreach (var receiver in config.Receivers)
        {
            // Its pipelines, with each store that forwarders read writing once per request and naming their forwarders.
            var router = new ReceiverRouter(WalForwarding.Route(config, receiver.Name, pipelines, exporters, walForwarders));
            receivers.Add(new OtlpReceiver(receiver, router, loggerFactory, admission)); // counted per protocol by the receiver
        }

        return new CollectorHost(config, exporters, processors.Values.ToList(), receivers, admission, logger)
        {
            _telemetryLoggers = selfTelemetry ? loggerFactory : null,
            _extensions = HealthCheckExtensions.Create(config.Extensions, loggerFactory),
        };
    }

    /// <summary>
    /// Refuses (<see cref="TraceSeal.Storage.UnsafePathException"/>, one line naming the key, path and fix) a store or
    /// queue directory, queue key, recipient or TLS key file that another user owns or group/other can write, and
    /// a queue key that is a symbolic link. TLS and recipient files may be symlinks (Kubernetes Secrets); their
    /// targets are checked.
    /// </summary>
    internal static void CheckPaths(CollectorConfig config)
    {
        foreach (var (id, settings) in config.Exporters)
        {
            string key = $"exporters::{id}::";
            if (settings is SealedStoreExporterSettings store)
            {
                TraceSeal.Storage.PathSafety.CheckDirectory(store.Directory, key + "directory");
                for (int i = 0; i < store.Recipients.Count; i++)
                {
                    TraceSeal.Storage.PathSafety.CheckTrustedFile(store.Recipients[i], $"{key}recipients[{i}]");
                }
            }
            else if (settings is OtlpExporterSettings otlp)
            {
                if (otlp.Queue.Directory is { } queueDir)
                {
                    TraceSeal.Storage.PathSafety.CheckDirectory(queueDir, key + "sending_queue::directory");
                }

                if (otlp.Queue.QueueKeyFile is { } queueKey)
                {
                    TraceSeal.Storage.PathSafety.CheckOwnedKeyFile(queueKey, key + "sending_queue::queue_key_file");
                }

                if (otlp.Tls.KeyFile is { } clientKey)
                {
                    TraceSeal.Storage.PathSafety.CheckTrustedFile(clientKey, key + "tls::key_file");
                }
            }
        }

        foreach (var receiver in config.Receivers)
        {
            foreach (var (protocol, settings) in (ReadOnlySpan<(string, OtlpProtocolSettings?)>)[("grpc", receiver.Grpc), ("http", receiver.Http)])
            {
                if (settings?.Tls is { } tls)
                {
                    TraceSeal.Storage.PathSafety.CheckTrustedFile(tls.KeyFile, $"receivers::{receiver.Name}::protocols::{protocol}::tls::key_file");
                }
            }
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var warning in Config.Warnings)
        {
            HostLog.ConfigWarning(_logger, $"{warning.File}:{warning.Line}:{warning.Column}", warning.KeyPath, warning.Message);
        }

        try
        {
            await _extensions.StartAsync(cancellationToken).ConfigureAwait(false); // first, as upstream: health_check answers 503 until the end
            foreach (var exporter in Exporters.Values)
            {
                await exporter.StartAsync(cancellationToken).ConfigureAwait(false);
                _startedExporters.Add(exporter);
            }

            foreach (var receiver in Receivers)
            {
                await receiver.StartAsync(cancellationToken).ConfigureAwait(false);
                _startedReceivers.Add(receiver);
            }

            // After the receivers, so /readyz never says ready before they listen; a port that cannot be bound
            // fails the start (TelemetryStartException names the key).
            if (_telemetryLoggers is not null)
            {
                var views = Receivers.Select((r, i) => new ReceiverView(Config.Receivers[i], r)).ToList();
                _telemetry = new TelemetryServer(Config.Telemetry, new CollectorMetrics(views, Exporters, TimeProvider.System, MemoryLimiters, Admission), _telemetryLoggers);
                await _telemetry.StartAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            // A half-started collector shuts down what it started before reporting the error.
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        HostLog.Started(_logger, Receivers.Count, Exporters.Count, Config.SourcePath);
        _extensions.SetReady();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        _extensions.SetNotReady();

        // First: readiness and metrics go away before the ports they describe.
        if (_telemetry is not null)
        {
            await _telemetry.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var receiver in Enumerable.Reverse(_startedReceivers))
        {
            await receiver.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var exporter in Enumerable.Reverse(_startedExporters))
        {
            await exporter.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        await _extensions.StopAsync(cancellationToken).ConfigureAwait(false);

        HostLog.Stopped(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        foreach (var receiver in Receivers)
        {
            await receiver.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var processor in _processors)
        {
            await processor.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var exporter in Exporters.Values)
        {
            await exporter.DisposeAsync().ConfigureAwait(false);
        }
    }
}
