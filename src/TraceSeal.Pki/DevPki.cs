using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Pki;

/// <summary>A small development PKI: one CA, server and client leaves, PEM files with safe permissions.</summary>
public static partial class DevPki
{
    /// <summary>Five years: a dev CA should outlive many leaf rotations without anyone noticing it.</summary>
    public static readonly TimeSpan DefaultCaValidity = TimeSpan.FromDays(5 * 365);

    /// <summary>One year: short enough that rotation gets exercised, long enough for a dev setup.</summary>
    public static readonly TimeSpan DefaultLeafValidity = TimeSpan.FromDays(365);

    /// <summary>Backdating by a few minutes keeps a freshly issued certificate valid on a peer whose clock is slightly behind.</summary>
    internal static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private static readonly string[] AlgorithmNames = ["ecdsa-p256", "ecdsa-p384", "rsa2048", "rsa3072", "rsa4096"];

    public static IssuedCertificate CreateCa(string commonName = "TraceSeal Dev CA", KeyAlgorithm algorithm = KeyAlgorithm.EcdsaP256, TimeSpan? validity = null, DateTimeOffset? notBefore = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(commonName);
        (DateTimeOffset from, DateTimeOffset until) = Window(notBefore, validity ?? DefaultCaValidity);

        using AsymmetricAlgorithm key = KeyFactory.Create(algorithm);
        CertificateRequest request = KeyFactory.NewRequest(Name(commonName), key, KeyFactory.HashFor(key));
        CertificateProfile.AddCaExtensions(request);

        using X509Certificate2 certificate = request.Create(request.SubjectName, KeyFactory.SignerFor(key), from, until, NewSerial());
        return new IssuedCertificate(KeyFactory.AttachKey(certificate, key), key.ExportPkcs8PrivateKeyPem());
    }

    public static IssuedCertificate IssueServer(IssuedCertificate ca, string commonName, IEnumerable<string> hosts, KeyAlgorithm algorithm = KeyAlgorithm.EcdsaP256, TimeSpan? validity = null, DateTimeOffset? notBefore = null)
    {
        ArgumentNullException.ThrowIfNull(ca);
        IReadOnlyList<string> names = HostList.Split(hosts);
        if (names.Count == 0)
        {
            // Clients verify the host name against the SAN only (the CN is ignored), so no SAN means no TLS.
            throw new ArgumentException("a server certificate needs at least one host (DNS name or IP address) for its subject alternative names", nameof(hosts));
        }

        var san = new SubjectAlternativeNameBuilder();
        foreach (string host in names)
        {
            if (HostList.TryParseAddress(host, out var address))
            {
                san.AddIpAddress(address);
            }
            else
            {
                san.AddDnsName(host);
            }
        }

        string cn = string.IsNullOrWhiteSpace(commonName) ? names[0] : commonName;
        return IssueLeaf(ca, cn, san.Build(), CertificateProfile.ServerAuth, algorithm, validity, notBefore);
    }

    public static IssuedCertificate IssueClient(IssuedCertificate ca, string commonName, IEnumerable<string>? dnsNames = null, IEnumerable<string>? uris = null, KeyAlgorithm algorithm = KeyAlgorithm.EcdsaP256, TimeSpan? validity = null, DateTimeOffset? notBefore = null)
    {
        ArgumentNullException.ThrowIfNull(ca);
        ArgumentException.ThrowIfNullOrWhiteSpace(commonName);

        var san = new SubjectAlternativeNameBuilder();
        int count = 0;
        foreach (string dns in HostList.Split(dnsNames ?? []))
        {
            san.AddDnsName(dns);
            count++;
        }

        foreach (string text in uris ?? [])
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out Uri? uri))
            {
                throw new ArgumentException($"'{text}' is not an absolute URI; SAN URIs look like spiffe://corp/ns/payments/sa/api", nameof(uris));
            }

            san.AddUri(uri);
            count++;
        }

        // A client certificate may carry its identity in the CN alone, so an empty SAN is simply left out.
        X509Extension? sanExtension = count > 0 ? san.Build() : null;
        return IssueLeaf(ca, commonName, sanExtension, CertificateProfile.ClientAuth, algorithm, validity, notBefore);
    }

    /// <summary>Loads a certificate and its PEM private key (PKCS#8, SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY").</summary>
    public static IssuedCertificate Load(string certPath, string keyPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(certPath);
        ArgumentException.ThrowIfNullOrEmpty(keyPath);
        foreach (string path in new[] { certPath, keyPath })
        {
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"file not found: {path}", path);
            }
        }

        if (File.ReadAllText(keyPath).Contains("ENCRYPTED PRIVATE KEY", StringComparison.Ordinal))
        {
            throw new CryptographicException($"{keyPath}: encrypted private keys are not supported; decrypt it with `openssl pkcs8 -in {keyPath} -out plain.key` and keep the result mode 0600");
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(certPath, keyPath);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new CryptographicException($"cannot load {certPath} with key {keyPath}: {e.Message} (is the key the one that belongs to this certificate?)", e);
        }

        using AsymmetricAlgorithm key = KeyFactory.PrivateKeyOf(certificate);
        string pkcs8 = key.ExportPkcs8PrivateKeyPem();
        if (!OperatingSystem.IsWindows())
        {
            return new IssuedCertificate(certificate, pkcs8);
        }

        using (certificate)
        {
            return new IssuedCertificate(KeyFactory.AttachKey(certificate, key), pkcs8);
        }
    }

    public static KeyAlgorithm ParseAlgorithm(string text)
    {
        string normalized = (text ?? string.Empty).Trim().ToLowerInvariant();
        return normalized switch
        {
            "ecdsa-p256" or "" => KeyAlgorithm.EcdsaP256,
            "ecdsa-p384" => KeyAlgorithm.EcdsaP384,
            "rsa2048" => KeyAlgorithm.Rsa2048,
            "rsa3072" => KeyAlgorithm.Rsa3072,
            "rsa4096" => KeyAlgorithm.Rsa4096,
            _ => throw new ArgumentException($"unknown key algorithm '{text}'; valid values: {string.Join(", ", AlgorithmNames)} (default ecdsa-p256)", nameof(text)),
        };
    }

    /// <summary>The command-line spelling of an algorithm, the inverse of <see cref="ParseAlgorithm"/>.</summary>
    public static string FormatAlgorithm(KeyAlgorithm algorithm) => AlgorithmNames[(int)algorithm];

    private static IssuedCertificate IssueLeaf(IssuedCertificate ca, string commonName, X509Extension? san, Oid eku, KeyAlgorithm algorithm, TimeSpan? validity, DateTimeOffset? notBefore)
    {
        X509Certificate2 issuer = ca.Certificate;
        if (issuer.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
        {
            // Verifiers would reject the leaf anyway; failing here names the real mistake.
            throw new ArgumentException($"{issuer.Subject} is not a CA certificate (basicConstraints CA:TRUE missing); pass ca.crt/ca.key, not a leaf", nameof(ca));
        }

        (DateTimeOffset from, DateTimeOffset until) = Window(notBefore, validity ?? DefaultLeafValidity);

        // A leaf must not outlive its CA: chains are checked at every point of the leaf's life.
        DateTimeOffset caEnd = new(issuer.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        if (until > caEnd)
        {
            until = caEnd;
        }

        if (until <= from)
        {
            throw new ArgumentException($"the CA {issuer.Subject} expires at {caEnd:u}, before the requested validity starts at {from:u}", nameof(ca));
        }

        using AsymmetricAlgorithm caKey = KeyFactory.PrivateKeyOf(issuer);
        using AsymmetricAlgorithm key = KeyFactory.Create(algorithm);
        CertificateRequest request = KeyFactory.NewRequest(Name(commonName), key, KeyFactory.HashFor(caKey));
        CertificateProfile.AddLeafExtensions(request, issuer, eku, KeyFactory.IsRsa(key), san);

        using X509Certificate2 certificate = request.Create(issuer.SubjectName, KeyFactory.SignerFor(caKey), from, until, NewSerial());
        return new IssuedCertificate(KeyFactory.AttachKey(certificate, key), key.ExportPkcs8PrivateKeyPem());
    }

    private static (DateTimeOffset From, DateTimeOffset Until) Window(DateTimeOffset? notBefore, TimeSpan validity)
    {
        if (validity <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(validity), validity, "validity must be positive");
        }

        // Whole seconds: X.509 times carry no fractions, and rounding here keeps NotAfter exactly from + validity.
        DateTimeOffset from = (notBefore ?? DateTimeOffset.UtcNow - ClockSkew).ToUniversalTime();
        from = new DateTimeOffset(from.Ticks - (from.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        return (from, from + validity);
    }

    private static X500DistinguishedName Name(string commonName)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName(commonName);
        return builder.Build();
    }

    /// <summary>16 random bytes, top bit cleared so the DER INTEGER stays positive (RFC 5280 4.1.2.2: at most 20 octets).</summary>
    private static byte[] NewSerial()
    {
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        serial[0] |= 0x01; // no leading zero octet, so the encoding is always exactly 16 bytes
        return serial;
    }
}
