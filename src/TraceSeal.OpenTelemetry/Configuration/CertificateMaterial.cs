using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.OpenTelemetry.Configuration;

/// <summary>
/// The CA certificates and the client certificate (with its key) loaded from the configured files, checked the
/// same way at start-up and on every reload: readable, a CA file with certificates, a key that belongs to the
/// certificate, a certificate valid now. A reload that fails these checks keeps the last good material.
/// </summary>
internal sealed class CertificateMaterial : IDisposable
{
    private CertificateMaterial(X509Certificate2Collection? caCertificates, X509Certificate2? clientCertificate, byte[] fingerprint)
    {
        CaCertificates = caCertificates;
        ClientCertificate = clientCertificate;
        Fingerprint = fingerprint;
    }

    /// <summary>Null when no CA file is configured (then the system trust store decides).</summary>
    public X509Certificate2Collection? CaCertificates { get; }

    public X509Certificate2? ClientCertificate { get; }

    /// <summary>SHA-256 over the files' contents: what the reloader compares.</summary>
    public byte[] Fingerprint { get; }

    /// <summary>Every problem with the files, empty when they load.</summary>
    public static IReadOnlyList<string> Check(ExporterSettings settings)
    {
        try
        {
            using CertificateMaterial material = Load(settings, DateTimeOffset.UtcNow);
            return [];
        }
        catch (SecureOtlpConfigurationException e)
        {
            return e.Problems;
        }
    }

    /// <summary>Loads and checks the files; throws <see cref="SecureOtlpConfigurationException"/> listing every problem.</summary>
    public static CertificateMaterial Load(ExporterSettings settings, DateTimeOffset now)
    {
        var problems = new List<string>();
        var files = new List<byte[]>();
        X509Certificate2Collection? ca = null;
        X509Certificate2? client = null;
        try
        {
            if (settings.CaFile.IsSet)
            {
                byte[]? bytes = Read(settings.CaFile, problems);
                if (bytes is not null)
                {
                    files.Add(bytes);
                    ca = new X509Certificate2Collection();
                    try
                    {
                        ca.ImportFromPem(System.Text.Encoding.UTF8.GetString(bytes));
                    }
                    catch (CryptographicException e)
                    {
                        problems.Add($"{settings.CaFile.Source}={settings.CaFile.Value}: not a PEM certificate file ({e.Message})");
                    }

                    if (ca.Count == 0 && problems.Count == 0)
                    {
                        problems.Add($"{settings.CaFile.Source}={settings.CaFile.Value}: the file contains no certificates (expected -----BEGIN CERTIFICATE-----); it must hold the CA that signed the collector's server certificate");
                    }
                }
            }

            if (settings.ClientCertificateFile.IsSet && settings.ClientKeyFile.IsSet)
            {
                byte[]? certBytes = Read(settings.ClientCertificateFile, problems);
                byte[]? keyBytes = Read(settings.ClientKeyFile, problems);
                if (certBytes is not null && keyBytes is not null)
                {
                    files.Add(certBytes);
                    files.Add(keyBytes);
                    client = LoadClient(settings, certBytes, keyBytes, now, problems);
                }
            }

            if (problems.Count > 0)
            {
                throw new SecureOtlpConfigurationException(problems);
            }

            var result = new CertificateMaterial(ca, client, Hash(files));
            ca = null;
            client = null;
            return result;
        }
        finally
        {
            DisposeAll(ca);
            client?.Dispose();
        }
    }

    /// <summary>The fingerprint the files have now, or null while one cannot be read (e.g. mid-rename).</summary>
    public static byte[]? CurrentFingerprint(ExporterSettings settings)
    {
        var files = new List<byte[]>();
        try
        {
            foreach (Sourced file in new[] { settings.CaFile, settings.ClientCertificateFile, settings.ClientKeyFile })
            {
                if (file.IsSet)
                {
                    files.Add(File.ReadAllBytes(file.Value!));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return Hash(files);
    }

    public void Dispose()
    {
        DisposeAll(CaCertificates);
        ClientCertificate?.Dispose();
    }

    private static X509Certificate2? LoadClient(ExporterSettings settings, byte[] certBytes, byte[] keyBytes, DateTimeOffset now, List<string> problems)
    {
        string certPem = System.Text.Encoding.UTF8.GetString(certBytes);
        string keyPem = System.Text.Encoding.UTF8.GetString(keyBytes);
        Sourced certFile = settings.ClientCertificateFile;
        Sourced keyFile = settings.ClientKeyFile;
        if (!certPem.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
        {
            problems.Add($"{certFile.Source}={certFile.Value}: the file contains no certificate (expected -----BEGIN CERTIFICATE-----)");
            return null;
        }

        if (keyPem.Contains("ENCRYPTED PRIVATE KEY", StringComparison.Ordinal))
        {
            problems.Add($"{keyFile.Source}={keyFile.Value}: encrypted private keys are not supported; decrypt it (openssl pkcs8 -in key -out plain.key) and keep it mode 0600");
            return null;
        }

        if (!keyPem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
        {
            problems.Add($"{keyFile.Source}={keyFile.Value}: the file contains no private key (expected -----BEGIN PRIVATE KEY-----)");
            return null;
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(certPem, keyPem);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            problems.Add($"{keyFile.Source}={keyFile.Value} does not belong to the certificate in {certFile.Source}={certFile.Value} ({e.Message}); use the key the certificate was issued for");
            return null;
        }

        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            problems.Add($"{keyFile.Source}={keyFile.Value} does not belong to the certificate in {certFile.Source}={certFile.Value}");
            return null;
        }

        if (now < certificate.NotBefore.ToUniversalTime())
        {
            problems.Add($"{certFile.Source}={certFile.Value}: client certificate {certificate.Subject} is not valid yet (valid from {Format(certificate.NotBefore)}); check the clock or issue a new certificate");
            certificate.Dispose();
            return null;
        }

        if (now > certificate.NotAfter.ToUniversalTime())
        {
            problems.Add($"{certFile.Source}={certFile.Value}: client certificate {certificate.Subject} expired on {Format(certificate.NotAfter)}; issue a new one (traceseal certs client ...)");
            certificate.Dispose();
            return null;
        }

        if (OperatingSystem.IsWindows())
        {
            // SChannel needs a persisted key; an ephemeral PEM key only works through a PFX round trip.
            using (certificate)
            {
                return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
            }
        }

        return certificate;
    }

    private static byte[]? Read(Sourced file, List<string> problems)
    {
        try
        {
            return File.ReadAllBytes(file.Value!);
        }
        catch (FileNotFoundException)
        {
            problems.Add($"{file.Source}={file.Value}: file not found");
        }
        catch (DirectoryNotFoundException)
        {
            problems.Add($"{file.Source}={file.Value}: file not found (the directory does not exist)");
        }
        catch (UnauthorizedAccessException)
        {
            problems.Add($"{file.Source}={file.Value}: permission denied; the app's user must be able to read it");
        }
        catch (IOException e)
        {
            problems.Add($"{file.Source}={file.Value}: cannot read the file ({e.Message})");
        }

        return null;
    }

    private static byte[] Hash(List<byte[]> files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[8];
        foreach (byte[] file in files)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(length, file.Length);
            hash.AppendData(length);
            hash.AppendData(file);
        }

        return hash.GetHashAndReset();
    }

    private static string Format(DateTime time) => time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static void DisposeAll(X509Certificate2Collection? certificates)
    {
        if (certificates is null)
        {
            return;
        }

        foreach (X509Certificate2 certificate in certificates)
        {
            certificate.Dispose();
        }
    }
}
