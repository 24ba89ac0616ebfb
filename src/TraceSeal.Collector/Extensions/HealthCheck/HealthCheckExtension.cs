using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Telemetry;

namespace TraceSeal.Collector.Extensions.HealthCheck;

/// <summary>
/// The `health_check` extension: upstream's v1 HTTP answer on its own port. 503 `{"status":"Server not
/// available",...}` until the collector has started every component, 200 `{"status":"Server available",
/// "upSince":...,"uptime":...}` while it runs, 503 again once it stops. It reports liveness, as upstream's does:
/// it stays 200 while the collector sheds load, so an orchestrator does not restart a collector that is only
/// busy. For readiness (refusing, failing exporters) use /readyz on service::telemetry::metrics::address.
/// Plain HTTP, no authentication, nothing but that status: loopback by default.
/// </summary>
internal sealed class HealthCheckExtension : IAsyncDisposable
{
    private readonly HealthCheckSettings _settings;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private PlainHttpListener? _listener;
    private DateTimeOffset? _upSince;

    public HealthCheckExtension(HealthCheckSettings settings, ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _settings = settings;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("TraceSeal.Extensions.HealthCheck");
        _time = time ?? TimeProvider.System;
    }

    public string Id => _settings.Name;

    /// <summary>The bound address (port 0 resolved); null before start.</summary>
    public IPEndPoint? BoundEndpoint => _listener?.BoundEndpoint;

    /// <summary>Listens (answering 503 until <see cref="SetReady"/>); throws <see cref="TelemetryStartException"/> naming the key.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        string key = $"extensions::{_settings.Name}::endpoint";
        IPEndPoint endpoint = PlainHttpListener.ParseAddress(_settings.Endpoint, key);
        if (!IPAddress.IsLoopback(endpoint.Address))
        {
            HealthCheckLog.NotLoopback(_logger, _settings.Name, endpoint.ToString());
        }

        _listener = await PlainHttpListener.StartAsync(endpoint, HandleAsync, _loggerFactory, key,
            $"set {key} to a free port", cancellationToken).ConfigureAwait(false);
        HealthCheckLog.Started(_logger, _settings.Name, BoundEndpoint?.ToString() ?? endpoint.ToString(), _settings.Path);
    }

    /// <summary>The collector runs: answer 200 from now on.</summary>
    public void SetReady() => _upSince = _time.GetUtcNow();

    /// <summary>The collector is stopping: answer 503 from now on (the listener itself closes at <see cref="StopAsync"/>).</summary>
    public void SetNotReady() => _upSince = null;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        SetNotReady();
        PlainHttpListener? listener = _listener;
        _listener = null;
        if (listener is not null)
        {
            await listener.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await StopAsync(timeout.Token).ConfigureAwait(false);
    }

    /// <summary>Upstream's body: `{"status":"Server available","upSince":"2020-11-17T10:00:00Z","uptime":"1m2.5s"}`, or the configured response_body.</summary>
    internal (int Status, string ContentType, string Body) Answer()
    {
        DateTimeOffset? upSince = _upSince;
        if (upSince is { } since)
        {
            return _settings.HealthyBody is { } healthy
                ? (StatusCodes.Status200OK, "text/plain; charset=utf-8", healthy)
                : (StatusCodes.Status200OK, "application/json", JsonSerializer.Serialize(new Dictionary<string, string>
                {
                    ["status"] = "Server available",
                    ["upSince"] = since.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture),
                    ["uptime"] = GoDurationText(_time.GetUtcNow() - since),
                }));
        }

        return _settings.UnhealthyBody is { } unhealthy
            ? (StatusCodes.Status503ServiceUnavailable, "text/plain; charset=utf-8", unhealthy)
            : (StatusCodes.Status503ServiceUnavailable, "application/json", """{"status":"Server not available","upSince":"0001-01-01T00:00:00Z","uptime":""}""");
    }

    /// <summary>Go's Duration.String() shape, as upstream prints uptime: `1h2m3.5s`, `750ms`.</summary>
    internal static string GoDurationText(TimeSpan d)
    {
        if (d < TimeSpan.FromSeconds(1))
        {
            return d.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + "ms";
        }

        string seconds = (d.TotalSeconds % 60).ToString("0.#########", CultureInfo.InvariantCulture) + "s";
        return d.TotalHours >= 1 ? $"{(long)d.TotalHours}h{d.Minutes}m{seconds}"
            : d.TotalMinutes >= 1 ? $"{d.Minutes}m{seconds}"
            : seconds;
    }

    private Task HandleAsync(HttpContext context)
    {
        HttpResponse response = context.Response;
        if (!string.Equals(context.Request.Path.Value, _settings.Path, StringComparison.Ordinal))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        var (status, contentType, body) = Answer();
        response.StatusCode = status;
        response.ContentType = contentType;
        return response.WriteAsync(body, context.RequestAborted);
    }
}

/// <summary>Log events of the health_check extension (ids 8201+, append only).</summary>
internal static partial class HealthCheckLog
{
    [LoggerMessage(8201, LogLevel.Information, "extension {Extension}: health check on http://{Endpoint}{Path}", EventName = "HealthCheckStarted")]
    public static partial void Started(ILogger logger, string extension, string endpoint, string path);

    [LoggerMessage(8202, LogLevel.Warning, "extension {Extension} listens on {Endpoint}, which is not loopback: it answers anyone who reaches the port (plain HTTP, only the up/down status)", EventName = "HealthCheckNotLoopback")]
    public static partial void NotLoopback(ILogger logger, string extension, string endpoint);
}

/// <summary>Every `service::extensions` entry of one collector: started before the pipelines, stopped after them, as upstream.</summary>
internal sealed class HealthCheckExtensions(IReadOnlyList<HealthCheckExtension> extensions) : IAsyncDisposable
{
    public IReadOnlyList<HealthCheckExtension> All => extensions;

    public static HealthCheckExtensions Create(IReadOnlyList<HealthCheckSettings> settings, ILoggerFactory loggerFactory) =>
        new([.. settings.Select(s => new HealthCheckExtension(s, loggerFactory))]);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var extension in extensions)
        {
            await extension.StartAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public void SetReady()
    {
        foreach (var extension in extensions)
        {
            extension.SetReady();
        }
    }

    /// <summary>Answers 503 at once (the pipelines are about to stop); the ports close at <see cref="StopAsync"/>.</summary>
    public void SetNotReady()
    {
        foreach (var extension in extensions)
        {
            extension.SetNotReady();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var extension in extensions)
        {
            await extension.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var extension in extensions)
        {
            await extension.DisposeAsync().ConfigureAwait(false);
        }
    }
}
