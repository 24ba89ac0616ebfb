using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Telemetry;

/// <summary>
/// The collector's own HTTP listener (service::telemetry::metrics::address, default 127.0.0.1:8888), separate
/// from the OTLP ports: <c>/metrics</c> (Prometheus text), <c>/healthz</c> (200 once started) and
/// <c>/readyz</c> (200 when every receiver listens, no exporter is failing, no memory_limiter is refusing and the
/// admission budget refused nothing recently; else 503 with the reason).
/// Plain HTTP: it is meant for loopback; any other address is the operator's explicit choice and is warned
/// about at every start.
/// </summary>
internal sealed class TelemetryServer : IAsyncDisposable
{
    private const string AddressKey = "service::telemetry::metrics::address";

    private readonly TelemetrySettings _settings;
    private readonly CollectorMetrics _metrics;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private PlainHttpListener? _listener;
    private volatile bool _started;

    public TelemetryServer(TelemetrySettings settings, CollectorMetrics metrics, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _settings = settings;
        _metrics = metrics;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("TraceSeal.Collector.Telemetry");
    }

    /// <summary>The bound address (port 0 resolved); null before start or when disabled.</summary>
    public IPEndPoint? BoundEndpoint => _listener?.BoundEndpoint;

    /// <summary>Binds; throws <see cref="TelemetryStartException"/> naming the key when the address is invalid or taken.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_listener is not null)
        {
            throw new InvalidOperationException("the telemetry server was already started");
        }

        if (string.Equals(_settings.MetricsLevel, "none", StringComparison.Ordinal))
        {
            TelemetryLog.Disabled(_logger);
            return;
        }

        IPEndPoint endpoint = ParseAddress(_settings.MetricsAddress);
        if (!IPAddress.IsLoopback(endpoint.Address))
        {
            // The default is loopback, so a non-loopback address was set explicitly: allowed, never silently.
            TelemetryLog.NotLoopback(_logger, endpoint.ToString());
        }

        _listener = await PlainHttpListener.StartAsync(endpoint, HandleAsync, _loggerFactory, AddressKey,
            $"set {AddressKey} to a free port, or level: none to turn self-telemetry off", cancellationToken).ConfigureAwait(false);
        _started = true;
        TelemetryLog.Started(_logger, BoundEndpoint?.ToString() ?? endpoint.ToString());
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        PlainHttpListener? listener = _listener;
        _listener = null;
        _started = false;
        if (listener is null)
        {
            return;
        }

        try
        {
            await listener.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            TelemetryLog.Stopped(_logger);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await StopAsync(timeout.Token).ConfigureAwait(false);
    }

    /// <summary>host:port with an IP literal or <c>localhost</c> (names are not resolved: the bind address must be unambiguous).</summary>
    internal static IPEndPoint ParseAddress(string address) => PlainHttpListener.ParseAddress(address, AddressKey);

    private Task HandleAsync(HttpContext context)
    {
        HttpResponse response = context.Response;
        switch (context.Request.Path.Value)
        {
            case "/metrics":
                response.ContentType = PrometheusText.ContentType;
                return response.WriteAsync(_metrics.Render(), context.RequestAborted);
            case "/healthz":
                response.StatusCode = _started ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
                response.ContentType = "text/plain; charset=utf-8";
                return response.WriteAsync(_started ? "ok\n" : "starting\n", context.RequestAborted);
            case "/readyz":
                bool ready = _metrics.IsReady(out string reason);
                response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
                response.ContentType = "text/plain; charset=utf-8";
                return response.WriteAsync(reason + "\n", context.RequestAborted);
            default:
                response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
        }
    }
}
