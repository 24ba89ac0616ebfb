using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Pki;

/// <summary>A certificate together with its private key, in the two shapes callers need: an
/// <see cref="X509Certificate2"/> for SslStream/Kestrel and PEM text for files.</summary>
public sealed class IssuedCertificate : IDisposable
{
    internal IssuedCertificate(X509Certificate2 certificate, string privateKeyPem)
    {
        Certificate = certificate;
        CertificatePem = certificate.ExportCertificatePem() + "\n";
        PrivateKeyPem = privateKeyPem.EndsWith('\n') ? privateKeyPem : privateKeyPem + "\n";
    }

    /// <summary>With private key; on Linux usable directly as an SslStream or Kestrel server/client certificate.</summary>
    public X509Certificate2 Certificate { get; }

    public string CertificatePem { get; }

    /// <summary>Unencrypted PKCS#8 ("BEGIN PRIVATE KEY"): what openssl, Go, Java and the OTel SDKs all read.</summary>
    public string PrivateKeyPem { get; }

    /// <summary>Writes the certificate (0644) and key (0600). Each file is created with its final mode
    /// and renamed into place, so the key is never readable by others, not even for a moment, and an
    /// existing file is replaced whole.</summary>
    public void WriteFiles(string certPath, string keyPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(certPath);
        ArgumentException.ThrowIfNullOrEmpty(keyPath);
        SecureFile.Write(keyPath, PrivateKeyPem, SecureFile.PrivateFileMode);
        SecureFile.Write(certPath, CertificatePem, SecureFile.PublicFileMode);
    }

    public void Dispose() => Certificate.Dispose();
}
