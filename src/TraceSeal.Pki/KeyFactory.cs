using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Pki;

/// <summary>Key generation and the glue between keys, requests and signers, for both ECDSA and RSA.</summary>
internal static class KeyFactory
{
    public static AsymmetricAlgorithm Create(KeyAlgorithm algorithm) => algorithm switch
    {
        KeyAlgorithm.EcdsaP256 => ECDsa.Create(ECCurve.NamedCurves.nistP256),
        KeyAlgorithm.EcdsaP384 => ECDsa.Create(ECCurve.NamedCurves.nistP384),
        KeyAlgorithm.Rsa2048 => RSA.Create(2048),
        KeyAlgorithm.Rsa3072 => RSA.Create(3072),
        KeyAlgorithm.Rsa4096 => RSA.Create(4096),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "unknown key algorithm"),
    };

    public static bool IsRsa(AsymmetricAlgorithm key) => key is RSA;

    /// <summary>The signing hash follows the signer's strength: P-384 signs with SHA-384 (as TLS 1.3 pairs them), everything else SHA-256.</summary>
    public static HashAlgorithmName HashFor(AsymmetricAlgorithm signer) =>
        signer is ECDsa { KeySize: > 256 } ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256;

    /// <summary>
    /// The request is built around the subject's key, but the hash is the signer's: CertificateRequest
    /// signs with the request's HashAlgorithm even when an external generator supplies the key.
    /// </summary>
    public static CertificateRequest NewRequest(X500DistinguishedName subject, AsymmetricAlgorithm subjectKey, HashAlgorithmName hash) => subjectKey switch
    {
        ECDsa ec => new CertificateRequest(subject, ec, hash),
        RSA rsa => new CertificateRequest(subject, rsa, hash, RSASignaturePadding.Pkcs1),
        _ => throw new NotSupportedException($"unsupported key type {subjectKey.GetType().Name}"),
    };

    public static X509SignatureGenerator SignerFor(AsymmetricAlgorithm signingKey) => signingKey switch
    {
        ECDsa ec => X509SignatureGenerator.CreateForECDsa(ec),
        // PKCS#1 v1.5, not PSS: every TLS client and openssl version verifies it.
        RSA rsa => X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1),
        _ => throw new NotSupportedException($"unsupported key type {signingKey.GetType().Name}"),
    };

    /// <summary>The CA's private key, whatever its type; a clear error when the certificate came without one.</summary>
    public static AsymmetricAlgorithm PrivateKeyOf(X509Certificate2 certificate) =>
        (AsymmetricAlgorithm?)certificate.GetECDsaPrivateKey()
        ?? (AsymmetricAlgorithm?)certificate.GetRSAPrivateKey()
        ?? throw new InvalidOperationException($"certificate {certificate.Subject} has no usable ECDSA or RSA private key; load the CA with DevPki.Load(ca.crt, ca.key)");

    public static X509Certificate2 AttachKey(X509Certificate2 certificate, AsymmetricAlgorithm key)
    {
        X509Certificate2 withKey = key switch
        {
            ECDsa ec => certificate.CopyWithPrivateKey(ec),
            RSA rsa => certificate.CopyWithPrivateKey(rsa),
            _ => throw new NotSupportedException($"unsupported key type {key.GetType().Name}"),
        };
        if (!OperatingSystem.IsWindows())
        {
            // On Linux and macOS an in-memory (ephemeral) key works with SslStream and Kestrel as is.
            return withKey;
        }

        // Windows SChannel cannot use ephemeral keys for TLS; a PKCS#12 round trip gives the key a
        // (temporary) key container. Not needed on our Linux targets, kept so dev boxes work too.
        using (withKey)
        {
            return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), password: null);
        }
    }
}
