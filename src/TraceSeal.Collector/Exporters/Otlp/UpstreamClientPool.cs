using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>
/// The exporter's connection to upstream: an <see cref="HttpClient"/> whose TLS settings come from <c>tls:</c>,
/// rebuilt when ca_file, cert_file or key_file change (checked before every attempt, i.e. before any new
/// connection, and on a reload_interval timer, default one minute). Broken new material keeps the old.
/// </summary>
internal sealed class UpstreamClientPool : IDisposable
{
    /// <summary>The safety poll when reload_interval is not set (the files are also checked before every attempt).</summary>
    internal static readonly TimeSpan DefaultReloadInterval = TimeSpan.FromMinutes(1);

    // id-kp-serverAuth: the upstream's certificate must be issued for servers.
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");

    private readonly string _id;
    private readonly OtlpTarget _target;
    private readonly TlsClientSettings _tls;
    private readonly SslProtocols _protocols;
    private readonly TimeSpan _connectTimeout;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Timer? _timer;
    private ClientLease _current;
    private FileStamp? _seen;
    private string? _lastRejection;
    private long _generation;
    private bool _disposed;

    /// <summary>Loads the TLS material now; throws <see cref="InvalidOperationException"/> naming the key.</summary>
    public UpstreamClientPool(string id, OtlpTarget target, TlsClientSettings tls, TimeSpan connectTimeout, ILogger logger)
    {
        _id = id;
        _target = target;
        _tls = tls;
        _connectTimeout = connectTimeout;
        _logger = logger;
        if (!Tls.TlsProtocolOptions.TryParseVersion(tls.MinVersion, out int min))
        {
            throw new InvalidOperationException($"exporters::{id}::tls::min_version: unknown TLS version \"{tls.MinVersion}\"; use one of 1.0, 1.1, 1.2, 1.3 (1.2 or later recommended)");
        }

        _protocols = Protocols(min);
        ClientTlsMaterial? material = target.UseTls ? ClientTlsMaterial.Load(id, tls) : null;
        _seen = material?.Stamp;
        _current = new ClientLease(CreateClient(material), material);
        if (target.UseTls && (tls.CaFile ?? tls.CertFile) is not null)
        {
            TimeSpan interval = tls.ReloadInterval is { } configured && configured > TimeSpan.Zero ? configured : DefaultReloadInterval;
            _timer = new Timer(static s => ((UpstreamClientPool)s!).ReloadIfChanged(), this, interval, interval);
        }
    }

    /// <summary>How many times new TLS material was swapped in.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>The current client certificate (tests, metrics); null without mutual TLS.</summary>
    public X509Certificate2? ClientCertificate => Volatile.Read(ref _current).Material?.ClientCertificate;

    /// <summary>Why the last server certificate was refused, once (null if none was since the last call).</summary>
    public string? TakeLastRejection() => Interlocked.Exchange(ref _lastRejection, null);

    /// <summary>A client for one attempt; <see cref="ClientLease.Release"/> it when the response has been read.</summary>
    public ClientLease Acquire()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ReloadIfChanged();
        while (true)
        {
            ClientLease lease = Volatile.Read(ref _current);
            if (lease.TryAcquire())
            {
                return lease;
            }
        }
    }

    /// <summary>Reloads when a file's last-write time changed since the last look.</summary>
    public void ReloadIfChanged()
    {
        if (!_target.UseTls || (_tls.CaFile ?? _tls.CertFile) is null)
        {
            return;
        }

        FileStamp stamp = FileStamp.Read(_tls);
        if (stamp == Volatile.Read(ref _seen))
        {
            return;
        }

        lock (_gate)
        {
            if (_disposed || stamp == _seen)
            {
                return;
            }

            // Remember the stamp even if loading fails: the same broken files are reported once, and the next
            // write (e.g. the key following the certificate) triggers another attempt.
            Volatile.Write(ref _seen, stamp);
            ClientTlsMaterial material;
            try
            {
                material = ClientTlsMaterial.Load(_id, _tls);
            }
            catch (InvalidOperationException ex)
            {
                ExporterLog.TlsReloadFailed(_logger, _id, ex.Message);
                return;
            }

            ClientLease old = _current;
            Volatile.Write(ref _current, new ClientLease(CreateClient(material), material));
            Interlocked.Increment(ref _generation);
            old.Release();
            ExporterLog.TlsReloaded(_logger, _id, material.ClientCertificate?.Subject ?? "(none)", material.ClientCertificate?.NotAfter.ToUniversalTime() ?? default);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _timer?.Dispose();
        _current.Release();
    }

#pragma warning disable SYSLIB0039 // TLS 1.0/1.1 are obsolete; offered only when min_version asks for them explicitly.
    private static SslProtocols Protocols(int minMinor) => minMinor switch
    {
        0 => SslProtocols.Tls | SslProtocols.Tls11 | SslProtocols.Tls12 | SslProtocols.Tls13,
        1 => SslProtocols.Tls11 | SslProtocols.Tls12 | SslProtocols.Tls13,
        2 => SslProtocols.Tls12 | SslProtocols.Tls13,
        _ => SslProtocols.Tls13,
    };
#pragma warning restore SYSLIB0039

    private static string Describe(X509Certificate2 certificate) => $"\"{certificate.Subject}\" (issuer \"{certificate.Issuer}\")";

    private HttpClient CreateClient(ClientTlsMaterial? material)
    {
        var handler = new SocketsHttpHandler
        {
            // Telemetry goes to the configured endpoint only: no proxy from the environment, no redirects.
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectTimeout = _connectTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            EnableMultipleHttp2Connections = true,
        };
        if (material is not null)
        {
            X509Certificate2Collection? roots = material.Roots;
            X509Certificate2? client = material.ClientCertificate;
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = _protocols,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) => ValidateServer(roots, certificate, chain, errors),

                // Offered whatever CA names the server lists: the server decides, and says why in its own logs.
                LocalCertificateSelectionCallback = client is null ? null : (_, _, _, _, _) => client,
            };
        }

        return new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>
    /// ca_file is pinned: the chain is built against its certificates only (custom root trust, the system store
    /// is not consulted), so a certificate a public CA issued for the same name is refused. The name is checked
    /// against server_name_override or the endpoint host.
    /// </summary>
    private bool ValidateServer(X509Certificate2Collection? roots, System.Security.Cryptography.X509Certificates.X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (certificate is not X509Certificate2 server)
        {
            return Reject($"the upstream at {_target.BaseUri.Authority} presented no server certificate");
        }

        if (roots is null)
        {
            if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            {
                return Reject($"the upstream's certificate {Describe(server)} does not chain to a system root: {Status(presented)}; set tls::ca_file to the CA that signed it");
            }
        }
        else
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.ApplicationPolicy.Add(ServerAuth);
            for (int i = 1; i < (presented?.ChainElements.Count ?? 0); i++)
            {
                chain.ChainPolicy.ExtraStore.Add(presented!.ChainElements[i].Certificate);
            }

            try
            {
                if (!chain.Build(server))
                {
                    return Reject($"the upstream's certificate {Describe(server)} does not chain to tls::ca_file {_tls.CaFile}: {Status(chain)}; ca_file must be the CA that signed the upstream's certificate");
                }
            }
            finally
            {
                foreach (X509ChainElement element in chain.ChainElements)
                {
                    element.Certificate.Dispose();
                }
            }
        }

        if (!server.MatchesHostname(_target.ServerName, allowWildcards: true, allowCommonName: false))
        {
            return Reject($"the upstream's certificate {Describe(server)} is not valid for \"{_target.ServerName}\"; its subject alternative names must include the endpoint host, or set tls::server_name_override");
        }

        return true;
    }

    private bool Reject(string reason)
    {
        Volatile.Write(ref _lastRejection, reason);
        return false;
    }

    private static string Status(X509Chain? chain)
    {
        if (chain is null || chain.ChainStatus.Length == 0)
        {
            return "chain error";
        }

        var parts = new List<string>(chain.ChainStatus.Length);
        foreach (X509ChainStatus status in chain.ChainStatus)
        {
            parts.Add(status.Status.ToString());
        }

        return string.Join(", ", parts);
    }
}
