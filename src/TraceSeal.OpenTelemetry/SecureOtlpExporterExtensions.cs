using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using TraceSeal.OpenTelemetry.Configuration;
using TraceSeal.OpenTelemetry.Pipeline;
using TraceSeal.OpenTelemetry.Telemetry;
using TraceSeal.OpenTelemetry.Transport;

namespace TraceSeal.OpenTelemetry;

/// <summary>
/// <c>AddSecureOtlpExporter()</c> for traces, metrics and logs: the upstream OTLP exporter behind a transport
/// that fails closed. Configuration problems throw <see cref="SecureOtlpConfigurationException"/> when the
/// provider is built (application start-up), never at the first export.
/// </summary>
public static class SecureOtlpExporterExtensions
{
    /// <summary>The meter with the exporter's own counters (exported, dropped, retries, TLS refusals, reloads).</summary>
    public const string MeterName = SecureOtlpMetrics.MeterName;

    /// <summary>Adds a fail-closed OTLP span exporter configured from OTEL_EXPORTER_OTLP_[TRACES_]* and <paramref name="configure"/>.</summary>
    public static TracerProviderBuilder AddSecureOtlpExporter(this TracerProviderBuilder builder, Action<SecureOtlpOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddProcessor(sp =>
        {
            (ExporterContext context, OtlpExporterOptions otlp, SecureTransport transport) = Create(OtlpSignalKind.Traces, sp, configure);
            var exporter = new CountingExporter<System.Diagnostics.Activity>(new OtlpTraceExporter(otlp), transport);
            return new CountingActivityProcessor(exporter, context, context.Options);
        });
    }

    /// <summary>Adds a fail-closed OTLP metric exporter (periodic reader) configured from OTEL_EXPORTER_OTLP_[METRICS_]*.</summary>
    public static MeterProviderBuilder AddSecureOtlpExporter(this MeterProviderBuilder builder, Action<SecureOtlpOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddReader(sp =>
        {
            (ExporterContext context, OtlpExporterOptions otlp, SecureTransport transport) = Create(OtlpSignalKind.Metrics, sp, configure);
            var exporter = new CountingExporter<Metric>(new OtlpMetricExporter(otlp), transport);
            int interval = (int)context.Options.MetricExportInterval.TotalMilliseconds;
            return new PeriodicExportingMetricReader(exporter, interval, (int)context.Settings.Timeout.TotalMilliseconds * 2);
        });
    }

    /// <summary>Adds a fail-closed OTLP log record exporter configured from OTEL_EXPORTER_OTLP_[LOGS_]*.</summary>
    public static LoggerProviderBuilder AddSecureOtlpExporter(this LoggerProviderBuilder builder, Action<SecureOtlpOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddProcessor(sp =>
        {
            (ExporterContext context, OtlpExporterOptions otlp, SecureTransport transport) = Create(OtlpSignalKind.Logs, sp, configure);
            var exporter = new CountingExporter<LogRecord>(new OtlpLogExporter(otlp), transport);
            return new CountingLogProcessor(exporter, context, context.Options);
        });
    }

    private static (ExporterContext Context, OtlpExporterOptions Otlp, SecureTransport Transport) Create(OtlpSignalKind signal, IServiceProvider services, Action<SecureOtlpOptions>? configure)
    {
        var options = new SecureOtlpOptions();
        configure?.Invoke(options);
        IConfiguration? configuration = options.Configuration ?? services.GetService<IConfiguration>();
        Func<string, string?> lookup = configuration is not null ? key => configuration[key] : Environment.GetEnvironmentVariable;

        ExporterSettings settings = SettingsResolver.Resolve(signal, options, lookup);
        var context = new ExporterContext(settings, options, () => options.LoggerFactory ?? services.GetService<ILoggerFactory>());
        var transport = new SecureTransport(context);
        try
        {
            var otlp = new OtlpExporterOptions
            {
                Endpoint = settings.Endpoint,
                Protocol = settings.Protocol,
                Headers = settings.Headers,
                TimeoutMilliseconds = (int)settings.Timeout.TotalMilliseconds,
                Compression = settings.Compression,
                HttpClientFactory = transport.CreateHttpClient,
                ExportProcessorType = ExportProcessorType.Batch,
            };

            Started(context, transport, lookup);
            return (context, otlp, transport);
        }
        catch
        {
            transport.Dispose();
            throw;
        }
    }

    private static void Started(ExporterContext context, SecureTransport transport, Func<string, string?> lookup)
    {
        ExporterSettings settings = context.Settings;
        if (settings.Plaintext)
        {
            SecureOtlpLog.PlaintextExport(context.Logger, context.Signal, settings.Endpoint, settings.InsecureSource);
        }
        else
        {
            var client = transport.Transport.Material?.ClientCertificate;
            SecureOtlpLog.ExporterStarted(
                context.Logger,
                context.Signal,
                settings.Protocol == OtlpExportProtocol.Grpc ? "grpc" : "http/protobuf",
                settings.Endpoint,
                settings.EndpointSource,
                settings.CaFile.IsSet ? settings.CaFile.Value! : "(system trust store)",
                client?.Subject ?? "(none)",
                client?.NotAfter.ToUniversalTime());
        }

        string? upstreamRetry = lookup("OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY") ?? Environment.GetEnvironmentVariable("OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY");
        if (!string.IsNullOrEmpty(upstreamRetry))
        {
            SecureOtlpLog.UpstreamRetryEnabled(context.Logger, upstreamRetry);
        }
    }
}
