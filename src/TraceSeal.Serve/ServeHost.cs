using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Tls;
using TraceSeal.Query;
using TraceSeal.Serve.Jaeger;
using TraceSeal.Serve.Tempo;
using TraceSeal.Serve.Ui;

namespace TraceSeal.Serve;

/// <summary>
/// `traceseal serve`: one Kestrel listener. Every request but /login must carry the token (Bearer header or the cookie
/// /login sets) or come over a connection with a client certificate from the configured CA; anything else gets 401 with a
/// JSON body. Only GET and HEAD. Responses say no-store and carry a strict CSP (the UI loads only its own embedded assets).
/// The ASP.NET Core request log is held at Warning: its Information lines would print the /login URL, token included.
/// </summary>
internal sealed class ServeHost : IAsyncDisposable
{
    private readonly ServeOptions _options;
    private readonly ServeAuth _auth;
    private readonly TraceStore _store;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly string _storeName;
    private WebApplication? _app;
    private ListenOptions? _listen;

    public ServeHost(ServeOptions options, StoreReader reader, string storeName, ILoggerFactory loggerFactory, ServeAuth? auth = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options;
        _auth = auth ?? new ServeAuth();
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("TraceSeal.Serve");
        _store = new TraceStore(reader, options, _logger);
        _storeName = storeName;
    }

    public ServeAuth Auth => _auth;

    /// <summary>The bound address (port 0 resolved) once started.</summary>
    public IPEndPoint? BoundEndpoint => _listen?.IPEndPoint;

    /// <summary>http(s)://host:port of the bound listener.</summary>
    public string BaseUrl => $"{(_options.Tls ? "https" : "http")}://{Host(BoundEndpoint ?? _options.Listen)}";

    /// <summary>The URL to open once: it sets the cookie and goes to the search page. Holds the token: print it, never log it.</summary>
    public string LoginUrl => $"{BaseUrl}{ServeAuth.LoginPath}?token={Uri.EscapeDataString(_auth.Token)}";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var errors = _options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("\n", errors));
        }

        TlsMaterial? tls = _options.Tls
            ? TlsMaterial.Load(new TlsServerSettings { CertFile = _options.TlsCertFile!, KeyFile = _options.TlsKeyFile!, ClientCaFile = _options.ClientCaFile }, "serve: ")
            : null;
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        builder.Services.AddRouting();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new Forwarding(_loggerFactory));
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning); // its request lines carry the /login URL
        // "Hosting failed to start" is logged at Error with the whole stack trace, and then thrown to StartAsync's
        // caller, which turns a user mistake (a busy port) into one line. Log only what the host cannot throw.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.Critical);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 0; // GET only
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            k.Limits.MaxRequestLineSize = 16 * 1024;
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
            k.Listen(_options.Listen, listen =>
            {
                _listen = listen;
                if (tls is not null)
                {
                    listen.UseHttps(new HttpsConnectionAdapterOptions
                    {
                        ServerCertificate = tls.ServerCertificate,
                        SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
                        ClientCertificateMode = tls.ClientCa is null ? ClientCertificateMode.NoCertificate : ClientCertificateMode.AllowCertificate,
                        ClientCertificateValidation = (cert, _, _) => ValidateClient(cert, tls.ClientCa),
                    });
                }
            });
        });
        var app = builder.Build();
        app.Use(Gate);
        app.UseRouting();
        Map(app);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"--listen {_options.Listen}: cannot listen: {e.Message}; another process may hold the port: choose another with --listen", e);
        }

        _app = app;
        ServeLog.Started(_logger, BaseUrl, _storeName, _options.ClientCaFile is null ? "token" : "token or client certificate");
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var app = _app;
        _app = null;
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
            ServeLog.Stopped(_logger);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await StopAsync(timeout.Token).ConfigureAwait(false);
        _store.Dispose();
    }

    private bool ValidateClient(X509Certificate2? certificate, X509Certificate2Collection? ca)
    {
        if (ca is null || certificate is null)
        {
            return certificate is null; // no certificate: the token decides
        }

        var failure = ClientCertificateValidator.Validate(certificate, ca, intermediates: null);
        if (failure is { } f)
        {
            ServeLog.ClientCertificateRefused(_logger, f.ToString());
            return false;
        }

        return true;
    }

    private async Task Gate(HttpContext context, RequestDelegate next)
    {
        var response = context.Response;
        var headers = response.Headers;
        headers.CacheControl = "no-store";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            headers.Allow = "GET, HEAD";
            await ServeJson.Error(context, 405, "only GET and HEAD").ConfigureAwait(false);
            return;
        }

        var path = context.Request.Path.Value ?? "/";
        if (path == ServeAuth.LoginPath)
        {
            await Login(context).ConfigureAwait(false);
            return;
        }

        if (!_auth.IsAuthenticated(context, _options.ClientCaFile is not null))
        {
            ServeLog.Unauthenticated(_logger, context.Request.Method, path.Length <= 200 ? path : path[..200]);
            headers.WWWAuthenticate = "Bearer realm=\"traceseal\"";
            await ServeJson.Error(context, 401, "unauthenticated: send Authorization: Bearer TOKEN, or open the login URL `traceseal serve` printed at start" +
                                                (_options.ClientCaFile is null ? "" : ", or connect with a client certificate from the configured CA")).ConfigureAwait(false);
            return;
        }

        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception e) when (e is StoreIntegrityException or StoreAccessException)
        {
            // Integrity failures fail loudly: the request fails, naming the object (a path in the store, no secret).
            ServeLog.StoreFailed(_logger, path, e.Message);
            if (!response.HasStarted)
            {
                await ServeJson.Error(context, 500, e.Message).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException)
        {
            ServeLog.StoreFailed(_logger, path, e.Message);
            if (!response.HasStarted)
            {
                await ServeJson.Error(context, 502, "object storage: " + e.Message).ConfigureAwait(false);
            }
        }
        catch (QueryTooCostlyException e)
        {
            if (!response.HasStarted)
            {
                await ServeJson.Error(context, 400, e.Message).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // the client went away
        }
    }

    private async Task Login(HttpContext context)
    {
        if (!_auth.IsToken(context.Request.Query["token"]))
        {
            await ServeJson.Error(context, 401, "unauthenticated: the login link's token is not this server's (it changes at every start)").ConfigureAwait(false);
            return;
        }

        context.Response.Cookies.Append(ServeAuth.CookieName, _auth.CookieValue, _auth.CookieOptions(_options.Tls));
        context.Response.StatusCode = 303;
        context.Response.Headers.Location = ServeAuth.SafeNext(context.Request.Query["next"]);
    }

    private void Map(IEndpointRouteBuilder app)
    {
        var tempo = new TempoApi(_store);
        var jaeger = new JaegerApi(_store);
        app.MapGet("/api/echo", (HttpContext c) => Text(c, "echo"));
        app.MapGet("/ready", (HttpContext c) => Text(c, "ready"));
        app.MapGet("/api/status/buildinfo", TempoApi.BuildInfo);
        app.MapGet("/api/traces/{id}", (HttpContext c, string id) => tempo.TraceById(c, id, v2: false));
        app.MapGet("/api/v2/traces/{id}", (HttpContext c, string id) => tempo.TraceById(c, id, v2: true));
        app.MapGet("/api/search", tempo.Search);
        app.MapGet("/api/search/tags", (HttpContext c) => tempo.Tags(c, v2: false));
        app.MapGet("/api/v2/search/tags", (HttpContext c) => tempo.Tags(c, v2: true));
        app.MapGet("/api/search/tag/{tag}/values", (HttpContext c, string tag) => tempo.TagValues(c, tag, v2: false));
        app.MapGet("/api/v2/search/tag/{tag}/values", (HttpContext c, string tag) => tempo.TagValues(c, tag, v2: true));
        app.MapGet("/jaeger/api/services", jaeger.Services);
        app.MapGet("/jaeger/api/services/{service}/operations", (HttpContext c, string service) => jaeger.Operations(c, service, objects: false));
        app.MapGet("/jaeger/api/operations", (HttpContext c) => jaeger.Operations(c, c.Request.Query["service"], objects: true));
        app.MapGet("/jaeger/api/traces", jaeger.FindTraces);
        app.MapGet("/jaeger/api/traces/{id}", (HttpContext c, string id) => jaeger.Trace(c, id));
        app.MapGet("/api/traceseal/logs", c => UiApi.Logs(c, _store));
        app.MapGet("/api/traceseal/info", c => UiApi.Info(c, _store, _storeName));
        app.MapGet("/assets/{name}", (HttpContext c, string name) => UiAssets.Serve(c, name));
        // The UI's own routes (Jaeger UI's spelling), all the same page: its script reads the path.
        foreach (var route in new[] { "/", "/search", "/trace/{id}", "/logs" })
        {
            app.MapGet(route, (HttpContext c) => UiAssets.Serve(c, "index.html"));
        }

        app.MapFallback((HttpContext c) => ServeJson.Error(c, 404, "not found"));
    }

    private static Task Text(HttpContext context, string text)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text, context.RequestAborted);
    }

    private static string Host(IPEndPoint endpoint) =>
        endpoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]:{endpoint.Port}" : endpoint.ToString();

    /// <summary>Hands the host's log lines (after its filters) to the caller's logger factory.</summary>
    private sealed class Forwarding(ILoggerFactory factory) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => factory.CreateLogger(categoryName);

        public void Dispose()
        {
        }
    }

    /// <summary>Runs inside the CLI's process: no Ctrl+C handling or lifetime messages of its own.</summary>
    private sealed class EmbeddedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
