using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.OpenTelemetry.Configuration;
using TraceSeal.OpenTelemetry.Telemetry;

namespace TraceSeal.OpenTelemetry.Pipeline;

/// <summary>What one registered exporter shares between its parts: settings, options, logger and metric tags.</summary>
internal sealed class ExporterContext
{
    private readonly Lazy<ILogger> _logger;

    public ExporterContext(ExporterSettings settings, SecureOtlpOptions options, Func<ILoggerFactory?> loggerFactory)
    {
        Settings = settings;
        Options = options;
        SignalTag = SecureOtlpMetrics.Signal(settings.SignalName);

        // Resolved on first use: a logs pipeline is built while the app's ILoggerFactory is still being created.
        _logger = new Lazy<ILogger>(() => (loggerFactory() ?? NullLoggerFactory.Instance).CreateLogger("TraceSeal.OpenTelemetry"));
    }

    public ExporterSettings Settings { get; }

    public SecureOtlpOptions Options { get; }

    public KeyValuePair<string, object?> SignalTag { get; }

    public string Signal => Settings.SignalName;

    public ILogger Logger => _logger.Value;
}
