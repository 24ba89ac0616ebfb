using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TraceSeal.Collector.Telemetry;

/// <summary>
/// A small plain-HTTP Kestrel listener inside the collector, for the endpoints that carry no telemetry: the
/// self-telemetry page (/metrics, /healthz, /readyz) and the health_check extension. GET and HEAD only, no
/// request bodies, small headers; meant for loopback (the callers warn when the address is not).
/// </summary>
internal sealed class PlainHttpListener : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ListenOptions _listen;

    private PlainHttpListener(WebApplication app, ListenOptions listen)
    {
        _app = app;
        _listen = listen;
    }

    /// <summary>The bound address (port 0 resolved).</summary>
    public IPEndPoint? BoundEndpoint => _listen.IPEndPoint;

    /// <summary>Binds and starts; throws <see cref="TelemetryStartException"/> naming <paramref name="key"/> and <paramref name="fix"/> when the port is taken.</summary>
    public static async Task<PlainHttpListener> StartAsync(IPEndPoint endpoint, RequestDelegate handler, ILoggerFactory loggerFactory, string key, string fix, CancellationToken cancellationToken)
    {
        ListenOptions? listen = null;
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Limits.MaxRequestBodySize = 0;
            options.Limits.MaxRequestHeadersTotalSize = 8 * 1024;
            options.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(5);
            options.Listen(endpoint, l => listen = l);
        });
        WebApplication app = builder.Build();
        app.Run(context => HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)
            ? handler(context)
            : MethodNotAllowed(context));
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new TelemetryStartException($"{key}: cannot listen on {endpoint}: {ex.Message}; another process (another collector?) may hold the port: {fix}", ex);
        }

        return new PlainHttpListener(app, listen!);
    }

    /// <summary>host:port with an IP literal or <c>localhost</c> (names are not resolved: the bind address must be unambiguous).</summary>
    public static IPEndPoint ParseAddress(string address, string key)
    {
        int colon = address.LastIndexOf(':');
        string host = colon > 0 ? address[..colon].Trim('[', ']') : string.Empty;
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > IPEndPoint.MaxPort)
        {
            throw new TelemetryStartException($"{key}: invalid address \"{address}\"; use host:port, e.g. 127.0.0.1:8888");
        }

        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }

        if (!IPAddress.TryParse(host, out IPAddress? ip))
        {
            throw new TelemetryStartException($"{key}: \"{host}\" is not an IP address; use 127.0.0.1 (or an explicit interface address)");
        }

        return new IPEndPoint(ip, port);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await StopAsync(timeout.Token).ConfigureAwait(false);
    }

    private static Task MethodNotAllowed(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
        return Task.CompletedTask;
    }

    /// <summary>Lives inside the collector's host: no Ctrl+C handling or lifetime messages of its own.</summary>
    private sealed class EmbeddedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
