using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Exporters.Otlp;

/// <summary>
/// The file-backed part of an exporter's <c>tls:</c> block: the pinned CA bundle and the client certificate.
/// Loaded whole or not at all, so a reload never mixes an old key with a new certificate.
/// </summary>
internal sealed class ClientTlsMaterial : IDisposable
{
    private ClientTlsMaterial(X509Certificate2Collection? roots, X509Certificate2? clientCertificate, FileStamp stamp)
    {
        Roots = roots;
        ClientCertificate = clientCertificate;
        Stamp = stamp;
    }

    /// <summary>ca_file: the only trust anchors (null = the system store, when ca_file is not set).</summary>
    public X509Certificate2Collection? Roots { get; }

    /// <summary>cert_file + key_file, for mutual TLS.</summary>
    public X509Certificate2? ClientCertificate { get; }

    /// <summary>Last-write times of the files this material came from.</summary>
    public FileStamp Stamp { get; }

    /// <summary>Throws <see cref="InvalidOperationException"/> naming the key, the file and the fix.</summary>
    public static ClientTlsMaterial Load(string id, TlsClientSettings tls)
    {
        ArgumentNullException.ThrowIfNull(tls);
        FileStamp stamp = FileStamp.Read(tls);
        X509Certificate2Collection? roots = null;
        if (tls.CaFile is { } caFile)
        {
            roots = new X509Certificate2Collection();
            try
            {
                roots.ImportFromPemFile(caFile);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
            {
                throw new InvalidOperationException($"exporters::{id}::tls::ca_file: cannot read {caFile}: {ex.Message}; it must be the PEM CA bundle that signed the upstream's server certificate", ex);
            }

            if (roots.Count == 0)
            {
                throw new InvalidOperationException($"exporters::{id}::tls::ca_file: no certificate found in {caFile}; it must be the PEM CA bundle that signed the upstream's server certificate");
            }
        }

        X509Certificate2? client = null;
        if (tls.CertFile is { } certFile && tls.KeyFile is { } keyFile)
        {
            try
            {
                client = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                DisposeAll(roots);
                throw new InvalidOperationException($"exporters::{id}::tls::cert_file: cannot load {certFile} with key_file {keyFile}: {ex.Message}; both must be PEM and the key must belong to the certificate", ex);
            }
        }

        return new ClientTlsMaterial(roots, client, stamp);
    }

    public void Dispose()
    {
        DisposeAll(Roots);
        ClientCertificate?.Dispose();
    }

    private static void DisposeAll(X509Certificate2Collection? certificates)
    {
        foreach (X509Certificate2 certificate in certificates ?? [])
        {
            certificate.Dispose();
        }
    }
}

/// <summary>Last-write times of ca_file, cert_file and key_file: a change means "reload".</summary>
internal sealed record FileStamp(DateTime Ca, DateTime Cert, DateTime Key)
{
    public static FileStamp Read(TlsClientSettings tls) => new(Time(tls.CaFile), Time(tls.CertFile), Time(tls.KeyFile));

    // A missing file reads as 1601-01-01: a change too, and the reload then reports the missing file.
    private static DateTime Time(string? path) => path is null ? default : File.GetLastWriteTimeUtc(path);
}
