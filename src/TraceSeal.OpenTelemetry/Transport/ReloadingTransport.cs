using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using TraceSeal.OpenTelemetry.Configuration;
using TraceSeal.OpenTelemetry.Pipeline;
using TraceSeal.OpenTelemetry.Telemetry;

namespace TraceSeal.OpenTelemetry.Transport;

/// <summary>
/// The TLS transport: a <see cref="SocketsHttpHandler"/> built from one <see cref="CertificateMaterial"/>
/// (pinned CA, client certificate), swapped for a new one when the certificate files change. Requests in flight
/// finish on the handler they started on; the next request opens a new connection with the new certificate.
/// The old handler is disposed after a grace period (two export deadlines).
/// </summary>
internal sealed class ReloadingTransport : HttpMessageHandler
{
    private readonly ExporterContext _context;
    private readonly string _host;
    private Generation _current;
    private SecureOtlpTlsException? _lastRefusal;
    private bool _disposed;

    public ReloadingTransport(ExporterContext context, CertificateMaterial? material)
    {
        _context = context;
        _host = context.Settings.Endpoint.IdnHost;
        _current = new Generation(CreateHandler(material), material);
    }

    /// <summary>The material in use now (null on a plaintext transport).</summary>
    public CertificateMaterial? Material => Volatile.Read(ref _current).Material;

    /// <summary>Swaps in new certificates; connections opened from now on use them.</summary>
    public void Apply(CertificateMaterial material)
    {
        Generation old;
        lock (this)
        {
            if (_disposed)
            {
                material.Dispose();
                return;
            }

            old = _current;
            Volatile.Write(ref _current, new Generation(CreateHandler(material), material));
        }

        TimeSpan grace = _context.Settings.Timeout * 2;
        _ = Task.Delay(grace).ContinueWith(_ => old.Dispose(), TaskScheduler.Default);
    }

    /// <summary>The reason of the most recent refused handshake, once.</summary>
    public SecureOtlpTlsException? TakeLastRefusal() => Interlocked.Exchange(ref _lastRefusal, null);

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Volatile.Read(ref _current).Invoker.SendAsync(request, cancellationToken);

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Volatile.Read(ref _current).Invoker.Send(request, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (this)
            {
                if (!_disposed)
                {
                    _disposed = true;
                    _current.Dispose();
                }
            }
        }

        base.Dispose(disposing);
    }

    private SocketsHttpHandler CreateHandler(CertificateMaterial? material)
    {
        var handler = new SocketsHttpHandler
        {
            // Long-lived connections re-handshake now and then, so CA changes and revocations take effect.
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
            ConnectTimeout = _context.Settings.Timeout,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        };

        if (_context.Settings.Plaintext)
        {
            return handler;
        }

        X509Certificate2Collection? roots = material?.CaCertificates;
        X509Certificate2? client = material?.ClientCertificate;
        string caSource = _context.Settings.CaFile.IsSet ? $"{_context.Settings.CaFile.Source}={_context.Settings.CaFile.Value}" : "the system trust store";
        handler.SslOptions = new SslClientAuthenticationOptions
        {
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            {
                SecureOtlpTlsException? refusal = ServerCertificateValidator.Validate(certificate, chain, errors, roots, caSource, _host);
                if (refusal is null)
                {
                    return true;
                }

                Refused(refusal);
                return false;
            },
        };

        if (client is not null)
        {
            // Always offer our certificate, whatever CA names the server lists: the server decides.
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => client;
        }

        return handler;
    }

    private void Refused(SecureOtlpTlsException refusal)
    {
        Volatile.Write(ref _lastRefusal, refusal);
        string reason;
        switch (refusal.Failure)
        {
            case ServerCertificateFailure.NotRootedAtConfiguredCa:
                reason = "untrusted_ca";
                SecureOtlpLog.ServerCertificateUntrusted(_context.Logger, refusal.Message);
                break;
            case ServerCertificateFailure.HostnameMismatch:
                reason = "hostname_mismatch";
                SecureOtlpLog.ServerHostnameMismatch(_context.Logger, refusal.Message);
                break;
            case ServerCertificateFailure.SystemTrustFailed:
                reason = "system_trust";
                SecureOtlpLog.ServerCertificateRefused(_context.Logger, refusal.Message);
                break;
            default:
                reason = "no_certificate";
                SecureOtlpLog.ServerCertificateRefused(_context.Logger, refusal.Message);
                break;
        }

        SecureOtlpMetrics.TlsRefused.Add(1, _context.SignalTag, SecureOtlpMetrics.Reason(reason));
    }

    private sealed class Generation(SocketsHttpHandler handler, CertificateMaterial? material) : IDisposable
    {
        public HttpMessageInvoker Invoker { get; } = new(handler, disposeHandler: true);

        public CertificateMaterial? Material { get; } = material;

        public void Dispose()
        {
            Invoker.Dispose();
            Material?.Dispose();
        }
    }
}
