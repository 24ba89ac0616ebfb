using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Tls;

/// <summary>
/// One consistent snapshot of the files of a <c>tls:</c> block: server certificate + key (+ chain) and the
/// client CA bundle. Immutable; a reload builds a new instance and swaps the reference, so a handshake
/// always sees a matching certificate, key and CA set. Old snapshots are left to the GC rather than
/// disposed, because a handshake that started a moment ago may still be using one.
/// </summary>
internal sealed class TlsMaterial
{
    private TlsMaterial(X509Certificate2 serverCertificate, SslStreamCertificateContext context, X509Certificate2Collection? clientCa, byte[] fingerprint)
    {
        ServerCertificate = serverCertificate;
        CertificateContext = context;
        ClientCa = clientCa;
        Fingerprint = fingerprint;
    }

    public X509Certificate2 ServerCertificate { get; }

    /// <summary>Leaf + intermediates, built once so every handshake sends the chain without rebuilding it.</summary>
    public SslStreamCertificateContext CertificateContext { get; }

    /// <summary>Trust anchors for client certificates; null = no mutual TLS.</summary>
    public X509Certificate2Collection? ClientCa { get; }

    /// <summary>SHA-256 over the raw bytes of every file; equal fingerprints mean nothing changed.</summary>
    public byte[] Fingerprint { get; }

    /// <summary>Loads at start: any problem is a <see cref="Receivers.ReceiverStartException"/>.</summary>
    public static TlsMaterial Load(TlsServerSettings settings, string keyPrefix)
    {
        if (!TryLoad(settings, keyPrefix, previousFingerprint: null, out TlsMaterial? material, out _, out string? error))
        {
            throw new Receivers.ReceiverStartException(error!);
        }

        return material!;
    }

    /// <summary>
    /// Reads and checks every file. <paramref name="unchanged"/> is true (and nothing is parsed) when the
    /// bytes match <paramref name="previousFingerprint"/>. Errors name the YAML key and file, never contents.
    /// </summary>
    public static bool TryLoad(TlsServerSettings settings, string keyPrefix, byte[]? previousFingerprint, out TlsMaterial? material, out bool unchanged, out string? error)
    {
        ArgumentNullException.ThrowIfNull(settings);
        material = null;
        unchanged = false;

        if (!TryRead(keyPrefix + "cert_file", settings.CertFile, "TLS needs the server certificate (PEM) that clients verify", out byte[]? certBytes, out error)
            || !TryRead(keyPrefix + "key_file", settings.KeyFile, "TLS needs the unencrypted PEM private key of cert_file", out byte[]? keyBytes, out error))
        {
            return false;
        }

        byte[]? clientCaBytes = null;
        if (settings.ClientCaFile is { Length: > 0 } clientCaPath
            && !TryRead(keyPrefix + "client_ca_file", clientCaPath, "mutual TLS needs the CA that signed your clients' certificates", out clientCaBytes, out error))
        {
            return false;
        }

        byte[]? caBytes = null;
        if (settings.CaFile is { Length: > 0 } caPath
            && !TryRead(keyPrefix + "ca_file", caPath, "ca_file should hold the CA chain of the server certificate (PEM)", out caBytes, out error))
        {
            return false;
        }

        byte[] fingerprint = ComputeFingerprint(certBytes!, keyBytes!, clientCaBytes, caBytes);
        if (previousFingerprint is not null && CryptographicOperations.FixedTimeEquals(fingerprint, previousFingerprint))
        {
            unchanged = true;
            return true;
        }

        string certPem = Encoding.UTF8.GetString(certBytes!);
        X509Certificate2 leaf;
        try
        {
            leaf = X509Certificate2.CreateFromPem(certPem);
        }
        catch (CryptographicException ex)
        {
            error = $"{keyPrefix}cert_file: {settings.CertFile} does not hold a PEM certificate ({ex.Message}); write the server certificate as -----BEGIN CERTIFICATE-----";
            return false;
        }

        X509Certificate2 serverCertificate;
        try
        {
            string keyPem = Encoding.UTF8.GetString(keyBytes!);
            serverCertificate = X509Certificate2.CreateFromPem(certPem, keyPem);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            // ArgumentException: "the provided key does not match the public key for this certificate".
            error = $"{keyPrefix}key_file: {settings.KeyFile} is not the unencrypted PEM private key of cert_file {settings.CertFile} ({ex.Message}); write the matching key as -----BEGIN PRIVATE KEY-----";
            return false;
        }
        finally
        {
            leaf.Dispose();
        }

        if (OperatingSystem.IsWindows())
        {
            // SChannel refuses ephemeral (PEM-imported) keys; a PKCS#12 round trip gives it a persisted one.
            using X509Certificate2 ephemeral = serverCertificate;
            serverCertificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), password: null);
        }

        var chain = new X509Certificate2Collection();
        if (!TryImportPem(certBytes!, chain))
        {
            error = $"{keyPrefix}cert_file: {settings.CertFile} holds an unreadable certificate after the first one; the file should be the server certificate followed by its intermediates";
            return false;
        }

        if (chain.Count > 0)
        {
            chain.RemoveAt(0); // the leaf itself
        }

        if (caBytes is not null && (!TryImportPem(caBytes, chain) || chain.Count == 0))
        {
            error = $"{keyPrefix}ca_file: {settings.CaFile} holds no PEM certificate; it should hold the CA chain of the server certificate";
            return false;
        }

        X509Certificate2Collection? clientCa = null;
        if (clientCaBytes is not null)
        {
            clientCa = new X509Certificate2Collection();
            if (!TryImportPem(clientCaBytes, clientCa) || clientCa.Count == 0)
            {
                error = $"{keyPrefix}client_ca_file: {settings.ClientCaFile} holds no PEM certificate; mutual TLS needs the CA that signed your clients' certificates";
                return false;
            }
        }

        var context = SslStreamCertificateContext.Create(serverCertificate, chain, offline: true);
        material = new TlsMaterial(serverCertificate, context, clientCa, fingerprint);
        error = null;
        return true;
    }

    private static bool TryRead(string key, string path, string why, out byte[]? bytes, out string? error)
    {
        try
        {
            bytes = File.ReadAllBytes(path);
            error = null;
            return true;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            error = $"{key}: file not found: {path}; {why}";
        }
        catch (UnauthorizedAccessException)
        {
            error = $"{key}: permission denied: {path}; the collector's user must be able to read it ({why})";
        }
        catch (IOException ex)
        {
            error = $"{key}: cannot read {path} ({ex.Message}); {why}";
        }

        bytes = null;
        return false;
    }

    private static bool TryImportPem(byte[] pem, X509Certificate2Collection into)
    {
        try
        {
            into.ImportFromPem(Encoding.UTF8.GetString(pem));
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static byte[] ComputeFingerprint(byte[] cert, byte[] key, byte[]? clientCa, byte[]? ca)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(hash, cert);
        Append(hash, key);
        Append(hash, clientCa);
        Append(hash, ca);
        return hash.GetHashAndReset();

        // Length-prefixed so moving bytes from one file to the next changes the fingerprint.
        static void Append(IncrementalHash hash, byte[]? bytes)
        {
            Span<byte> length = stackalloc byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(length, bytes?.Length ?? -1);
            hash.AppendData(length);
            if (bytes is not null)
            {
                hash.AppendData(bytes);
            }
        }
    }
}
