using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Identity;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Tls;
using TraceSeal.Pki;

namespace TraceSeal.Collector.Receivers;

/// <summary>
/// One protocol (grpc or http) of an otlp receiver: its Kestrel listener, its TLS material and the
/// per-connection steps around the handshake (classify refusals, capture the verified identity, decide the tenant).
/// </summary>
internal sealed class ProtocolListener : IDisposable
{
    /// <summary>A client that has not finished its handshake by then is holding a connection for nothing.</summary>
    internal static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    private static readonly List<SslApplicationProtocol> GrpcAlpn = [SslApplicationProtocol.Http2];
    private static readonly List<SslApplicationProtocol> HttpAlpn = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];

    private readonly IReadOnlyList<TenantRule> _rules;
    private ListenOptions? _listenOptions;

    /// <summary>Parses the endpoint and loads TLS material; throws <see cref="ReceiverStartException"/>.</summary>
    public ProtocolListener(string receiver, string protocol, OtlpProtocolSettings settings, IReadOnlyList<TenantRule> rules, ITelemetrySink sink, ReceiverCounters counters, AdmissionBudget admission, ReceiverGuards guards, ILogger logger)
    {
        Receiver = receiver;
        Admission = admission;
        Guards = guards;
        Protocol = protocol;
        Settings = settings;
        Sink = sink;
        Counters = counters;
        Logger = logger;
        _rules = rules;
        IsGrpc = protocol == "grpc";
        string keyPrefix = $"receivers::{receiver}::protocols::{protocol}::";
        Endpoint = ParseEndpoint(settings.Endpoint, keyPrefix + "endpoint");
        if (settings.Tls is { } tls)
        {
            TlsOptions = TlsProtocolOptions.Create(tls, keyPrefix + "tls::");
            Tls = new CertificateReloader(tls, keyPrefix + "tls::", logger);
        }
        else if (!settings.AllowPlaintext)
        {
            throw new ReceiverStartException($"{keyPrefix}tls: missing; a receiver without TLS does not start. Add tls (cert_file, key_file, client_ca_file), or set allow_plaintext: true to accept plaintext knowingly");
        }
    }

    public string Receiver { get; }

    public string Protocol { get; }

    public bool IsGrpc { get; }

    public OtlpProtocolSettings Settings { get; }

    public ITelemetrySink Sink { get; }

    public ReceiverCounters Counters { get; }

    /// <summary>The collector's in-flight byte budget, shared with every other listener.</summary>
    public AdmissionBudget Admission { get; }

    /// <summary>Connection limits, tenant quotas and the refusal log limiter, shared by the receiver's listeners.</summary>
    public ReceiverGuards Guards { get; }

    public ILogger Logger { get; }

    public IPEndPoint Endpoint { get; }

    /// <summary>Null on an allow_plaintext listener.</summary>
    public CertificateReloader? Tls { get; }

    public TlsProtocolOptions? TlsOptions { get; }

    /// <summary>The bound address once Kestrel started (port 0 resolved).</summary>
    public IPEndPoint? BoundEndpoint => _listenOptions?.IPEndPoint;

    public void Configure(KestrelServerOptions options)
    {
        options.Listen(Endpoint, listen =>
        {
            // gRPC needs HTTP/2. Without TLS there is no ALPN, so a plaintext HTTP listener stays HTTP/1.1 and a
            // plaintext gRPC listener expects HTTP/2 prior knowledge.
            listen.Protocols = IsGrpc ? HttpProtocols.Http2 : Tls is null ? HttpProtocols.Http1 : HttpProtocols.Http1AndHttp2;
            listen.Use(next => connection => OnConnectionAsync(connection, next));
            if (Tls is not null)
            {
                listen.UseHttps(new TlsHandshakeCallbackOptions { OnConnection = OnHandshakeAsync, HandshakeTimeout = HandshakeTimeout });
                listen.Use(next => connection => OnHandshakeCompleted(connection, next));
            }

            _listenOptions = listen;
        });
    }

    /// <summary>
    /// Counts and logs a refused request. Peer-caused refusals are Debug, except the two an operator must act on —
    /// a certificate no rule admits, a tenant over its quota — which are Warning once a minute per identity or
    /// tenant (<see cref="RefusalLogLimiter"/>), then Debug; the counter keeps the exact number either way.
    /// </summary>
    public void OnRefused(HttpContext context, ReceiveFailure failure, string detail)
    {
        Counters.OnRefused(failure);
        if (failure is ReceiveFailure.PermissionDenied or ReceiveFailure.TenantQuotaExceeded
            && Logger.IsEnabled(LogLevel.Warning) && Guards.RefusalLog.ShouldWarn(detail, out long suppressed))
        {
            string remote = context.Connection.RemoteIpAddress?.ToString() ?? "?";
            if (failure == ReceiveFailure.PermissionDenied)
            {
                ReceiverLog.PermissionDenied(Logger, Receiver, Protocol, remote, detail, suppressed);
            }
            else
            {
                ReceiverLog.QuotaExceeded(Logger, Receiver, Protocol, remote, detail, suppressed);
            }
        }
        else if (Logger.IsEnabled(LogLevel.Debug))
        {
            ReceiverLog.RequestRefused(Logger, Receiver, Protocol, context.Request.Path.Value ?? string.Empty, context.Connection.RemoteIpAddress?.ToString(), OtlpStatusTable.Get(failure).Label, detail);
        }
    }

    /// <summary>Counts and logs a connection closed by a guard (Warning once a minute per address, then Debug).</summary>
    public void OnConnectionRefused(ConnectionRefusal refusal, IPAddress? address, string detail)
    {
        Counters.OnConnectionRefused(refusal);
        string remote = address?.ToString() ?? "?";
        if (Logger.IsEnabled(LogLevel.Warning) && Guards.RefusalLog.ShouldWarn("conn:" + remote, out long suppressed))
        {
            ReceiverLog.ConnectionRefused(Logger, Receiver, Protocol, remote, ConnectionRefusals.Label(refusal), detail, suppressed);
        }
        else if (Logger.IsEnabled(LogLevel.Debug))
        {
            ReceiverLog.ConnectionRefusedDebug(Logger, Receiver, Protocol, remote, ConnectionRefusals.Label(refusal));
        }
    }

    public void Dispose() => Tls?.Dispose();

    private async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        // First of all, before the handshake costs anything: is there room for one more connection from this address?
        IPAddress? address = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        if (Guards.Connections.TryAcquire(address) is { } refusal)
        {
            OnConnectionRefused(refusal, address, refusal == ConnectionRefusal.MaxConnections
                ? $"{Guards.Settings.MaxConnections} connections open (limits::max_connections)"
                : $"{Guards.Settings.MaxConnectionsPerAddress} connections open from this address (limits::max_connections_per_address)");
            connection.Abort(new ConnectionAbortedException("connection limit"));
            return;
        }

        try
        {
            await OnAdmittedConnectionAsync(connection, next).ConfigureAwait(false);
        }
        finally
        {
            Guards.Connections.Release(address);
        }
    }

    private async Task OnAdmittedConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var state = new ConnectionState(this) { Connection = connection };
        connection.Items[ConnectionState.ItemKey] = state;
        Guards.Track(state);
        try
        {
            await ServeAsync(connection, next, state).ConfigureAwait(false);
        }
        finally
        {
            Guards.Untrack(state);
        }
    }

    private async Task ServeAsync(ConnectionContext connection, ConnectionDelegate next, ConnectionState state)
    {
        if (Tls is null)
        {
            state.Decision = TenantMatcher.Resolve(_rules, []);
            if (IsGrpc)
            {
                GuardControlFrames(connection); // plaintext gRPC is HTTP/2 with prior knowledge
            }

            await next(connection).ConfigureAwait(false);
            return;
        }

        IDuplexPipe transport = connection.Transport;
        var sniffer = new ClientHelloSniffer(transport.Input);
        connection.Transport = new DuplexPipe(sniffer, transport.Output);
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            // Kestrel's TLS middleware swallows handshake failures; a connection that never reached
            // OnHandshakeCompleted is one.
            if (state.Decision is null)
            {
                HandshakeFailure reason = state.CertificateFailure ?? sniffer.Classify(TlsOptions!.MinWireVersion);
                Counters.OnHandshakeFailed(reason);
                if (Logger.IsEnabled(LogLevel.Debug))
                {
                    ReceiverLog.HandshakeRefused(Logger, Receiver, Protocol, connection.RemoteEndPoint?.ToString(), HandshakeFailures.Label(reason));
                }
            }
        }
    }

    private Task OnHandshakeCompleted(ConnectionContext connection, ConnectionDelegate next)
    {
        var state = (ConnectionState)connection.Items[ConnectionState.ItemKey]!;
        state.Decision = TenantMatcher.Resolve(_rules, state.VerifiedIdentities ?? [], state.IdentityRefusal);
        if (connection.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.ITlsApplicationProtocolFeature>()?.ApplicationProtocol.Span.SequenceEqual(SslApplicationProtocol.Http2.Protocol.Span) == true)
        {
            GuardControlFrames(connection);
        }

        return next(connection);
    }

    /// <summary>Puts <see cref="Http2ControlFrameGuard"/> between the (decrypted) transport and Kestrel's HTTP/2 parser.</summary>
    private void GuardControlFrames(ConnectionContext connection)
    {
        IDuplexPipe transport = connection.Transport;
        var guard = new Http2ControlFrameGuard(transport.Input, () =>
        {
            OnConnectionRefused(ConnectionRefusal.Http2ControlFrameFlood, (connection.RemoteEndPoint as IPEndPoint)?.Address,
                $"more than {Http2ControlFrameGuard.MaxControlFrames} PING/SETTINGS frames in {Http2ControlFrameGuard.Window.TotalSeconds:0} s");
            connection.Abort(new ConnectionAbortedException("HTTP/2 control frame flood"));
        });
        connection.Transport = new DuplexPipe(guard, transport.Output);
    }

    /// <summary>Runs before every handshake: the CURRENT material, so a reload applies to the next connection.</summary>
    private ValueTask<SslServerAuthenticationOptions> OnHandshakeAsync(TlsHandshakeCallbackContext context)
    {
        var state = (ConnectionState)context.Connection.Items[ConnectionState.ItemKey]!;
        TlsMaterial material = Tls!.Current;
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = material.CertificateContext,
            EnabledSslProtocols = TlsOptions!.Protocols,
            ClientCertificateRequired = material.ClientCa is not null,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowRenegotiation = false,
            ApplicationProtocols = IsGrpc ? GrpcAlpn : HttpAlpn,
        };
        if (material.ClientCa is { } trustAnchors)
        {
            options.RemoteCertificateValidationCallback = (_, certificate, chain, _) => ValidateClient(state, trustAnchors, certificate, chain);
        }

        if (TlsOptions.CipherSuites is { } suites && (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()))
        {
            options.CipherSuitesPolicy = suites;
        }

        return ValueTask.FromResult(options);
    }

    /// <summary>Verifies against client_ca_file only and captures the identities of the certificate just verified.</summary>
    private static bool ValidateClient(ConnectionState state, X509Certificate2Collection trustAnchors, X509Certificate? certificate, X509Chain? chain)
    {
        X509Certificate2? certificate2 = certificate switch
        {
            null => null,
            X509Certificate2 c => c,
            _ => X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()),
        };

        // The peer's own intermediates arrive in the chain SslStream built; trust still comes only from our bundle.
        if (ClientCertificateValidator.Validate(certificate2, trustAnchors, chain?.ChainPolicy.ExtraStore) is { } failure)
        {
            state.CertificateFailure = failure;
            return false;
        }

        state.VerifiedIdentities = CertificateIdentity.From(certificate2!);
        state.IdentityRefusal = IdentityPolicy.Check(certificate2!, state.VerifiedIdentities);
        return true;
    }

    private static IPEndPoint ParseEndpoint(string endpoint, string key)
    {
        int colon = endpoint.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(endpoint.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > IPEndPoint.MaxPort)
        {
            throw new ReceiverStartException($"{key}: \"{endpoint}\" is not host:port; write e.g. 0.0.0.0:4317 or 127.0.0.1:4318");
        }

        ReadOnlySpan<char> host = endpoint.AsSpan(0, colon);
        if (host.Length >= 2 && host[0] == '[' && host[^1] == ']')
        {
            host = host[1..^1];
        }

        if (host.IsEmpty)
        {
            return new IPEndPoint(IPAddress.Any, port);
        }

        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }

        if (!IPAddress.TryParse(host, out IPAddress? address))
        {
            throw new ReceiverStartException($"{key}: \"{endpoint}\": the host must be an IP address or localhost (a receiver listens on local addresses); write e.g. 0.0.0.0:{port}");
        }

        return new IPEndPoint(address, port);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
