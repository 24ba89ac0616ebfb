using System.Security.Cryptography;

namespace TraceSeal.Sealing.Recipients;

/// <summary>A P-256 or P-384 private key that unwraps stanzas addressed to its key id (docs/format.md §3).</summary>
internal sealed class EcIdentity : IStanzaIdentity, IDisposable
{
    private readonly ECDiffieHellman _key;
    private readonly byte[] _point;
    private readonly byte[] _keyId;

    public EcIdentity(EcCurveInfo curve, ECDiffieHellman privateKey)
    {
        Curve = curve;
        _key = privateKey;
        _point = curve.EncodePoint(privateKey);
        _keyId = KeyIds.Compute(privateKey);
        KeyId = KeyIds.Format(_keyId);
    }

    public EcCurveInfo Curve { get; }

    public string KeyId { get; }

    /// <summary>From an unencrypted PKCS#8 DER; throws <see cref="CryptographicException"/> on unsupported curves.</summary>
    public static EcIdentity FromPkcs8(ReadOnlySpan<byte> pkcs8)
    {
        var der = pkcs8.ToArray();
        return From(key => key.ImportPkcs8PrivateKey(der, out _));
    }

    /// <summary>From an encrypted PKCS#8 DER; a wrong passphrase throws <see cref="CryptographicException"/>.</summary>
    public static EcIdentity FromEncryptedPkcs8(ReadOnlySpan<byte> pkcs8, string passphrase)
    {
        var der = pkcs8.ToArray();
        return From(key => key.ImportEncryptedPkcs8PrivateKey(passphrase, der, out _));
    }

    /// <summary>From a private scalar (consumed and zeroed): key generation and the test-vector generator.</summary>
    public static EcIdentity FromScalar(EcCurveInfo curve, byte[] scalar) => new(curve, curve.ImportPrivate(scalar));

    public EcRecipient ToRecipient()
    {
        var publicKey = ECDiffieHellman.Create(_key.ExportParameters(includePrivateParameters: false));
        return new EcRecipient(Curve, publicKey);
    }

    public byte[] ExportPkcs8() => _key.ExportPkcs8PrivateKey();

    public byte[] ExportEncryptedPkcs8(string passphrase, PbeParameters pbe) =>
        _key.ExportEncryptedPkcs8PrivateKey(passphrase, pbe);

    public bool IsAddressee(Stanza stanza) =>
        stanza.Type == Curve.StanzaType && stanza.KeyId.AsSpan().SequenceEqual(_keyId);

    public bool TryUnwrap(Stanza stanza, Span<byte> fileKey) =>
        StanzaWrap.TryUnwrap(Curve, _key, _point, stanza, fileKey);

    public void Dispose() => _key.Dispose();

    public override string ToString() => $"identity {Curve.Name} {KeyId}";

    private static EcIdentity From(Action<ECDiffieHellman> import)
    {
        var key = ECDiffieHellman.Create();
        try
        {
            import(key);
            var curve = EcCurveInfo.FromKey(key.ExportParameters(false))
                ?? throw new CryptographicException("unsupported curve: TraceSeal identities are P-256 or P-384");
            return new EcIdentity(curve, key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }
}
