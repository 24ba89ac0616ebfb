using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Pki;

/// <summary>Reads every certificate in a file: a PEM bundle, or one DER certificate (what some tools export as .cer).</summary>
internal static class PemBundle
{
    public static X509Certificate2Collection Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"file not found: {path}", path);
        }

        byte[] bytes = File.ReadAllBytes(path);
        string text = System.Text.Encoding.ASCII.GetString(bytes);
        var certificates = new X509Certificate2Collection();
        if (text.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            certificates.ImportFromPem(text);
            if (certificates.Count == 0)
            {
                string hint = text.Contains("PRIVATE KEY-----", StringComparison.Ordinal)
                    ? "it holds a private key; inspect the matching .crt file instead"
                    : "no \"BEGIN CERTIFICATE\" block";
                throw new InvalidDataException($"{path}: no certificate found ({hint})");
            }

            return certificates;
        }

        try
        {
            certificates.Add(X509CertificateLoader.LoadCertificate(bytes));
        }
        catch (CryptographicException e)
        {
            throw new InvalidDataException($"{path}: neither PEM nor a DER certificate ({e.Message})", e);
        }

        return certificates;
    }
}
