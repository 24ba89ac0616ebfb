using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Pipeline;

namespace TraceSeal.Collector.Receivers;

/// <summary>
/// The <c>otlp</c> receiver: one Kestrel server with a listener per configured protocol (OTLP/gRPC, OTLP/HTTP),
/// TLS material hot-reloaded per protocol, client identities mapped to tenants, every payload validated
/// before the sink sees it.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly OtlpReceiverSettings _settings;
    private readonly ITelemetrySink _sink;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly List<ProtocolListener> _listeners = new(2);
    private WebApplication? _app;
    private ProtocolListener? _grpc;
    private ProtocolListener? _http;

    /// <param name="admission">
    /// The collector's in-flight byte budget, shared by all its receivers (<c>CollectorHost</c> passes one); null = a
    /// budget of this receiver's own, sized by <see cref="AdmissionSettings.DefaultBytes"/>.
    /// </param>
    public OtlpReceiver(OtlpReceiverSettings settings, ITelemetrySink sink, ILoggerFactory loggerFactory, AdmissionBudget? admission = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        Admission = admission ?? new AdmissionBudget(new AdmissionSettings().EffectiveBytes([settings]));
        _settings = settings;
        _sink = sink;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("TraceSeal.Collector.Receivers.OtlpReceiver");
        Guards = new ReceiverGuards(settings);
    }

    public IPEndPoint? GrpcEndpoint => _grpc?.BoundEndpoint;

    public IPEndPoint? HttpEndpoint => _http?.BoundEndpoint;

    public ReceiverCounters Counters { get; } = new();

    public AdmissionBudget Admission { get; }

    /// <summary>Connection limits, tenant quotas, refusal log limits (issue 14).</summary>
    internal ReceiverGuards Guards { get; }

    /// <summary>The TLS reloaders (grpc first), for metrics and tests; empty before start.</summary>
    internal IReadOnlyList<Tls.CertificateReloader> TlsReloaders
    {
        get
        {
            var reloaders = new List<Tls.CertificateReloader>(2);
            foreach (ProtocolListener listener in _listeners)
            {
                if (listener.Tls is not null)
                {
                    reloaders.Add(listener.Tls);
                }
            }

            return reloaders;
        }
    }

    /// <summary>
    /// Loads TLS material, then binds. Throws <see cref="ReceiverStartException"/> naming the YAML key, file and
    /// fix; whatever was already started is stopped first.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_app is not null || _listeners.Count > 0)
        {
            throw new InvalidOperationException("the receiver was already started");
        }

        try
        {
            if (_settings.Grpc is { } grpc)
            {
                _grpc = AddListener("grpc", grpc);
            }

            if (_settings.Http is { } http)
            {
                _http = AddListener("http", http);
            }

            if (_listeners.Count == 0)
            {
                throw new ReceiverStartException($"receivers::{_settings.Name}::protocols: no protocol configured; add grpc and/or http");
            }

            _app = Build();
            Guards.StartIdleSweep();
            try
            {
                await _app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw new ReceiverStartException($"receivers::{_settings.Name}::protocols: cannot listen on {Describe()}: {ex.Message}; another process may hold the port, or the address is not local", ex);
            }
        }
        catch
        {
            await CleanupAsync().ConfigureAwait(false);
            throw;
        }

        foreach (ProtocolListener listener in _listeners)
        {
            string endpoint = listener.BoundEndpoint?.ToString() ?? listener.Settings.Endpoint;
            if (listener.Tls is null)
            {
                // Every start, not once: an opted-out port must stay visible in the log.
                ReceiverLog.Plaintext(_logger, _settings.Name, listener.Protocol, endpoint);
            }

            string security = listener.Tls is null ? "PLAINTEXT" : listener.Settings.Tls!.ClientCaFile is null ? "TLS, no client certificates" : "mutual TLS";
            ReceiverLog.Started(_logger, _settings.Name, listener.Protocol, endpoint, security);
        }
    }

    /// <summary>Stops accepting, lets requests in flight finish (bounded by <paramref name="cancellationToken"/>).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is null)
        {
            return;
        }

        try
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await CleanupAsync().ConfigureAwait(false);
            ReceiverLog.Stopped(_logger, _settings.Name);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await StopAsync(timeout.Token).ConfigureAwait(false);
        }

        await CleanupAsync().ConfigureAwait(false);
    }

    private ProtocolListener AddListener(string protocol, OtlpProtocolSettings settings)
    {
        // What the pipelines accept from (or refuse to) this protocol, counted under its own settings object: upstream's
        // otelcol_receiver_* metrics carry transport="grpc" / "http" (Telemetry/CollectorMetrics.WriteUpstreamCompatible).
        var sink = Telemetry.PipelineStats.Count(_sink, settings);
        var listener = new ProtocolListener(_settings.Name, protocol, settings, _settings.Tenants, sink, Counters, Admission, Guards, _logger);
        _listeners.Add(listener);
        return listener;
    }

    private WebApplication Build()
    {
        // The empty builder: no configuration sources (nothing like ASPNETCORE_URLS can add a listener),
        // no routing or MVC; Kestrel plus one request delegate.
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton(_loggerFactory);
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        long maxBody = 0;
        foreach (ProtocolListener listener in _listeners)
        {
            maxBody = Math.Max(maxBody, listener.Settings.MaxRequestBytes + GrpcWire.PrefixLength);
        }

        ReceiverLimitSettings receiverLimits = _settings.Limits;

        // The socket transport reads without a zero-byte receive first (by default Kestrel waits for data before it
        // takes a buffer): the empty receive before every real one doubled the recv calls, 10 per 20 KB request instead
        // of 5 (docs/benchmarks.md, "The receive path"). The price is one 4 KiB pool block held by every open connection
        // while it waits, idle ones included (about 5 % of an idle mTLS HTTP/2 connection; limits::max_connections
        // bounds the sum).
        builder.WebHost.UseSockets(sockets => sockets.WaitForDataBeforeAllocatingBuffer = false);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            KestrelServerLimits limits = options.Limits;

            // Connection counts are limited by ConnectionLimiter (global and per client address, with a counter and
            // a log line); Kestrel's own MaxConcurrentConnections has neither, so it stays unset.

            // A client must finish its request headers within 10 s of starting them (Kestrel: 30 s): a client
            // trickling headers holds a connection and header buffers for nothing.
            limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);

            // A client trickling bytes cannot pin a connection: below 240 B/s after a 5 s grace it is dropped.
            limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));
            limits.MinResponseDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));

            // limits::idle_timeout: an HTTP/1.1 connection between requests, an HTTP/2 connection with no stream open,
            // is closed after this long (Kestrel's KeepAliveTimeout covers both); the default is Kestrel's 130 s.
            limits.KeepAliveTimeout = receiverLimits.IdleTimeout;
            limits.MaxRequestBodySize = maxBody;

            // OTLP requests carry a handful of short headers; 32 KiB in all, 100 of them and an 8 KiB request line
            // are Kestrel's defaults, set here so that a change of defaults cannot widen them unnoticed.
            limits.MaxRequestHeadersTotalSize = 32 * 1024;
            limits.MaxRequestHeaderCount = 100;
            limits.MaxRequestLineSize = 8 * 1024;

            // 100 concurrent streams per connection (Kestrel's default, gRPC's usual): beyond it a client opens
            // more connections, which ConnectionLimiter counts. Each stream in flight holds request buffers that
            // the admission budget bounds.
            limits.Http2.MaxStreamsPerConnection = 100;

            // HPACK: a 4 KiB dynamic table (RFC 9113's default) and at most 16 KiB per decoded header field bound
            // the header memory a connection can make the server hold; MaxRequestHeadersTotalSize bounds the sum
            // (and since .NET 8 also CONTINUATION floods).
            limits.Http2.HeaderTableSize = 4096;
            limits.Http2.MaxRequestHeaderFieldSize = 16 * 1024;

            // 16 KiB frames (the RFC minimum, Kestrel's default): the largest frame a client may make us buffer whole.
            limits.Http2.MaxFrameSize = 16 * 1024;

            // Flow-control windows bound what a client can push before the handler reads it: 1 MiB per connection,
            // 768 KiB per stream (Kestrel's defaults). The handler reserves admission before it reads a body, so
            // refused requests do not keep these windows open.
            limits.Http2.InitialConnectionWindowSize = 1024 * 1024;
            limits.Http2.InitialStreamWindowSize = 768 * 1024;

            // Server PINGs on a connection that was silent for 60 s; no answer within 20 s closes it (dead peers).
            limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(60);
            limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);

            // Kestrel has no setting that limits PING or SETTINGS frames from the client: Http2ControlFrameGuard
            // (installed per connection by ProtocolListener) closes a connection that floods them. RST_STREAM
            // floods ("rapid reset", CVE-2023-44487) are bounded by Kestrel itself since .NET 8.
            foreach (ProtocolListener listener in _listeners)
            {
                listener.Configure(options);
            }
        });

        WebApplication app = builder.Build();
        app.Run(HandleAsync);
        return app;
    }

    private static async Task HandleAsync(HttpContext context)
    {
        if (context.Features.Get<IConnectionItemsFeature>()?.Items is { } items
            && items.TryGetValue(ConnectionState.ItemKey, out object? value)
            && value is ConnectionState { Decision: { } decision } state)
        {
            state.RequestStarted();
            try
            {
                await (state.Listener.IsGrpc
                    ? GrpcHandler.HandleAsync(context, state, decision)
                    : HttpHandler.HandleAsync(context, state, decision)).ConfigureAwait(false);
            }
            catch (Microsoft.AspNetCore.Http.BadHttpRequestException ex)
            {
                // The client broke HTTP (a body slower than the minimum rate, a bad length): its fault, answered as such.
                if (!context.Response.HasStarted)
                {
                    context.Response.StatusCode = ex.StatusCode;
                }
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException && context.RequestAborted.IsCancellationRequested)
            {
                // The client reset the stream or went away mid-request; there is nobody to answer.
            }
            catch (Exception ex)
            {
                // A bug a client can trigger at will must not become an Error line with a stack trace per request
                // (Kestrel's own logging of an escaped exception): one Warning a minute, a counter, a plain 500.
                OnUnexpected(context, state.Listener, ex);
            }
            finally
            {
                state.RequestEnded(state.Listener.Guards.Now);
            }

            return;
        }

        // Unreachable with our listeners; fail closed rather than accept an unattributed request.
        context.Response.StatusCode = StatusCodes.Status500InternalServerError;
    }

    private static void OnUnexpected(HttpContext context, ProtocolListener listener, Exception ex)
    {
        listener.Counters.OnRequestFailed();
        if (listener.Guards.RefusalLog.ShouldWarn("unexpected:" + ex.GetType().FullName, out long suppressed))
        {
            ReceiverLog.RequestFailed(listener.Logger, listener.Receiver, context.Connection.RemoteIpAddress?.ToString() ?? "?", $"{ex.GetType().Name}: {ex.Message}", suppressed);
        }

        if (!context.Response.HasStarted)
        {
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
        }
    }

    private string Describe()
    {
        var parts = new List<string>(2);
        foreach (ProtocolListener listener in _listeners)
        {
            parts.Add($"{listener.Protocol}::endpoint {listener.Settings.Endpoint}");
        }

        return string.Join(" / ", parts);
    }

    private async Task CleanupAsync()
    {
        WebApplication? app = _app;
        _app = null;
        if (app is not null)
        {
            await app.DisposeAsync().ConfigureAwait(false);
        }

        foreach (ProtocolListener listener in _listeners)
        {
            listener.Dispose();
        }

        _listeners.Clear();
        Guards.Dispose();
    }

    /// <summary>The receiver lives inside the collector's host: no Ctrl+C handling or lifetime messages of its own.</summary>
    private sealed class EmbeddedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
