using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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
    private WebApplication? _app;
    private ListenOptionsHolder? _listen;
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
    public IPEndPoint? BoundEndpoint => _listen?.Options?.IPEndPoint;

    /// <summary>Binds; throws <see cref="TelemetryStartException"/> naming the key when the address is invalid or taken.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
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

        _listen = new ListenOptionsHolder();
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton(_loggerFactory);
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Limits.MaxRequestBodySize = 0;
            options.Limits.MaxRequestHeadersTotalSize = 8 * 1024;
            options.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(5);
            options.Listen(endpoint, listen => _listen.Options = listen);
        });
        WebApplication app = builder.Build();
        app.Run(HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new TelemetryStartException($"{AddressKey}: cannot listen on {endpoint}: {ex.Message}; another process (another collector?) may hold the port: set {AddressKey} to a free port, or level: none to turn self-telemetry off", ex);
        }

        _app = app;
        _started = true;
        TelemetryLog.Started(_logger, BoundEndpoint?.ToString() ?? endpoint.ToString());
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        WebApplication? app = _app;
        _app = null;
        _started = false;
        if (app is null)
        {
            return;
        }

        try
        {
            await app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await app.DisposeAsync().ConfigureAwait(false);
            TelemetryLog.Stopped(_logger);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await StopAsync(timeout.Token).ConfigureAwait(false);
    }

    /// <summary>host:port with an IP literal or <c>localhost</c> (names are not resolved: the bind address must be unambiguous).</summary>
    internal static IPEndPoint ParseAddress(string address)
    {
        int colon = address.LastIndexOf(':');
        string host = colon > 0 ? address[..colon].Trim('[', ']') : string.Empty;
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > IPEndPoint.MaxPort)
        {
            throw new TelemetryStartException($"{AddressKey}: invalid address \"{address}\"; use host:port, e.g. 127.0.0.1:8888");
        }

        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }

        if (!IPAddress.TryParse(host, out IPAddress? ip))
        {
            throw new TelemetryStartException($"{AddressKey}: \"{host}\" is not an IP address; use 127.0.0.1 (or an explicit interface address)");
        }

        return new IPEndPoint(ip, port);
    }

    private Task HandleAsync(HttpContext context)
    {
        HttpResponse response = context.Response;
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return Task.CompletedTask;
        }

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

    private sealed class ListenOptionsHolder
    {
        public Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions? Options { get; set; }
    }

    /// <summary>Lives inside the collector's host: no Ctrl+C handling or lifetime messages of its own.</summary>
    private sealed class EmbeddedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
