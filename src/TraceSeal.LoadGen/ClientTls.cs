using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.LoadGen;

/// <summary>
/// TLS for the load connections: the server certificate must chain to the <c>--ca</c> file only (never the
/// system store) and carry the host name or IP of the endpoint; the client certificate is presented for mTLS.
/// </summary>
internal sealed class ClientTls : IDisposable
{
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    private readonly X509Certificate2Collection _trust;
    private readonly X509Certificate2? _clientCertificate;

    private ClientTls(X509Certificate2Collection trust, X509Certificate2? clientCertificate)
    {
        _trust = trust;
        _clientCertificate = clientCertificate;
    }

    /// <summary>Why the last server certificate was refused, for the error report (handshake failures only say "rejected").</summary>
    public string? LastRejection { get; private set; }

    public static ClientTls Load(string caFile, string? certFile, string? keyFile)
    {
        var trust = new X509Certificate2Collection();
        try
        {
            trust.ImportFromPemFile(caFile);
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"--ca {caFile}: not a PEM certificate file ({e.Message})", e);
        }

        if (trust.Count == 0)
        {
            throw new ArgumentException($"--ca {caFile}: holds no certificate");
        }

        X509Certificate2? client = null;
        if (certFile is not null && keyFile is not null)
        {
            try
            {
                client = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            }
            catch (CryptographicException e)
            {
                throw new ArgumentException($"--cert {certFile} / --key {keyFile}: cannot load the client certificate and key ({e.Message}); they must be PEM and belong together", e);
            }
        }

        return new ClientTls(trust, client);
    }

    /// <summary>One handler = one connection pool; loadgen makes one per <c>--connections</c>.</summary>
    public SocketsHttpHandler CreateHandler(bool http11, int concurrency, TimeSpan connectTimeout)
    {
        var options = new SslClientAuthenticationOptions
        {
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = ValidateServer,
        };
        if (_clientCertificate is not null)
        {
            options.ClientCertificates = [_clientCertificate];
        }

        return new SocketsHttpHandler
        {
            SslOptions = options,
            ConnectTimeout = connectTimeout,
            // HTTP/2: exactly one connection per handler, carrying `concurrency` streams.
            // HTTP/1.1: one request per connection at a time, so `concurrency` connections.
            EnableMultipleHttp2Connections = false,
            MaxConnectionsPerServer = http11 ? concurrency : 1,
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
            UseCookies = false,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        };
    }

    private bool ValidateServer(object sender, X509Certificate? certificate, X509Chain? systemChain, SslPolicyErrors errors)
    {
        // The platform already checked the name against the endpoint host (RemoteCertificateNameMismatch);
        // its chain verdict is against the system store, which is not what we trust, so build our own chain.
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            LastRejection = "the server sent no certificate";
            return false;
        }

        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            LastRejection = $"the server certificate {certificate.Subject} does not name the endpoint host; its SAN must list the name or IP in --endpoint";
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_trust);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ServerAuthOid));
        if (systemChain is not null)
        {
            // Intermediates the server sent.
            foreach (var element in systemChain.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        bool ok = chain.Build(leaf);
        if (!ok)
        {
            var status = string.Join(", ", chain.ChainStatus.Select(s => s.Status.ToString()));
            LastRejection = $"the server certificate {leaf.Subject} (issuer {leaf.Issuer}) does not chain to the --ca file: {status}";
        }

        foreach (var element in chain.ChainElements)
        {
            element.Certificate.Dispose();
        }

        return ok;
    }

    public void Dispose()
    {
        _clientCertificate?.Dispose();
        foreach (var c in _trust)
        {
            c.Dispose();
        }
    }
}
