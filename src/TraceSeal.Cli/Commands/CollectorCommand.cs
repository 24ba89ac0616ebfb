using System.CommandLine;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Hosting;

namespace TraceSeal.Cli.Commands;

/// <summary>`traceseal collector --config FILE`: runs the collector until Ctrl-C / SIGTERM, then drains.</summary>
internal static class CollectorCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "OpenTelemetry Collector YAML (receivers, processors, exporters, service).", Required = true };
        var (logFormat, logLevel) = LogOptions();
        var cmd = new Command("collector", "Run the collector with a config file. Receivers without TLS refuse to start unless the config opts out explicitly.")
        {
            config, logFormat, logLevel,
        };
        cmd.SetAction((parse, ct) => CommandErrors.RunAsync(() =>
        {
            var loaded = CollectorConfigLoader.Load(parse.GetValue(config)!);
            return RunAsync(loaded, parse.GetValue(logFormat)!, parse.GetValue(logLevel)!, onStarted: null, ct);
        }));
        return cmd;
    }

    internal static (Option<string> Format, Option<string> Level) LogOptions() => (
        new Option<string>("--log-format") { Description = "text (default) or json.", DefaultValueFactory = _ => "text" },
        new Option<string>("--log-level") { Description = "debug, info (default), warn, error.", DefaultValueFactory = _ => "info" });

    /// <summary>Starts the collector, calls <paramref name="onStarted"/>, and runs until cancelled.</summary>
    internal static async Task<int> RunAsync(CollectorConfig config, string logFormat, string logLevel, Action<CollectorHost>? onStarted, CancellationToken cancellationToken)
    {
        using var loggerFactory = CollectorLogging.Create(logFormat, CollectorLogging.ParseLevel(logLevel));
        // The CLI serves self-telemetry (service.telemetry.metrics.address, default 127.0.0.1:8888).
        await using var host = CollectorHost.Create(config, loggerFactory, selfTelemetry: true);
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        onStarted?.Invoke(host);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Ctrl-C or SIGTERM: fall through to a graceful stop that drains in-flight requests.
        }

        using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StopAsync(drain.Token).ConfigureAwait(false);
        return Program.ExitOk;
    }
}
