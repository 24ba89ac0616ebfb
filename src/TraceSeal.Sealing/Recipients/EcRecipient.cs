using System.Security.Cryptography;
using TraceSeal.Sealing.Randomness;

namespace TraceSeal.Sealing.Recipients;

/// <summary>A P-256 or P-384 public key that file keys are wrapped to (docs/format.md §3).</summary>
internal sealed class EcRecipient : IStanzaRecipient
{
    private readonly ECDiffieHellman _key;
    private readonly byte[] _point;
    private readonly byte[] _keyId;

    public EcRecipient(EcCurveInfo curve, ECDiffieHellman publicKey)
    {
        Curve = curve;
        _key = publicKey;
        _point = curve.EncodePoint(publicKey);
        _keyId = KeyIds.Compute(publicKey);
        KeyId = KeyIds.Format(_keyId);
    }

    public EcCurveInfo Curve { get; }

    public string KeyId { get; }

    /// <summary>From a SubjectPublicKeyInfo DER; throws <see cref="CryptographicException"/> on unsupported curves.</summary>
    public static EcRecipient FromSubjectPublicKeyInfo(ReadOnlySpan<byte> spki)
    {
        var key = ECDiffieHellman.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(spki, out int read);
            if (read != spki.Length)
            {
                throw new CryptographicException("trailing bytes after the SubjectPublicKeyInfo");
            }

            var curve = EcCurveInfo.FromKey(key.ExportParameters(false))
                ?? throw new CryptographicException("unsupported curve: TraceSeal recipients are P-256 or P-384");
            return new EcRecipient(curve, key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    public Stanza Wrap(ReadOnlySpan<byte> fileKey, IRandomSource random) =>
        StanzaWrap.Wrap(Curve, _key, _point, _keyId, fileKey, random);

    public byte[] ExportSubjectPublicKeyInfo() => _key.ExportSubjectPublicKeyInfo();

    public override string ToString() => $"recipient {Curve.Name} {KeyId}";
}
