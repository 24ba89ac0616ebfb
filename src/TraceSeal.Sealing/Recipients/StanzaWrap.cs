using System.Security.Cryptography;
using TraceSeal.Sealing.Format;
using TraceSeal.Sealing.Randomness;

namespace TraceSeal.Sealing.Recipients;

/// <summary>
/// ECDH ephemeral-static + HKDF-SHA-256 + AES-256-GCM wrap of the file key (docs/format.md §3.2):
/// <code>
///   shared   = ECDH(ephemeral, recipient)                      x-coordinate, 32 or 48 bytes
///   wrap_key = HKDF-SHA-256(ikm = shared, salt = ephemeral_point ‖ recipient_point, info = "traceseal/v1/wrap", 32)
///   wrapped  = AES-256-GCM(wrap_key, nonce = 12 × 0x00, aad = type ‖ key_id, file_key)   32 + 16 bytes
/// </code>
/// The all-zero nonce is safe: every wrap key is used once (fresh ephemeral key per stanza).
/// </summary>
internal static class StanzaWrap
{
    public static Stanza Wrap(
        EcCurveInfo curve,
        ECDiffieHellman recipient,
        byte[] recipientPoint,
        byte[] keyId,
        ReadOnlySpan<byte> fileKey,
        IRandomSource random)
    {
        using var ephemeral = curve.ImportPrivate(curve.DrawScalar(random));
        var ephemeralPoint = curve.EncodePoint(ephemeral);
        var shared = ephemeral.DeriveRawSecretAgreement(recipient.PublicKey);
        var wrapped = new byte[FormatConstants.WrappedFileKeyLength];
        Span<byte> wrapKey = stackalloc byte[FormatConstants.WrapKeyLength];
        try
        {
            DeriveWrapKey(shared, ephemeralPoint, recipientPoint, wrapKey);
            using var gcm = new AesGcm(wrapKey, FormatConstants.TagLength);
            Span<byte> nonce = stackalloc byte[FormatConstants.NonceLength];
            nonce.Clear();
            gcm.Encrypt(
                nonce,
                fileKey,
                wrapped.AsSpan(0, FormatConstants.FileKeyLength),
                wrapped.AsSpan(FormatConstants.FileKeyLength),
                Aad(curve.StanzaType, keyId));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
            CryptographicOperations.ZeroMemory(wrapKey);
        }

        return new Stanza(curve.StanzaType, keyId, ephemeralPoint, wrapped);
    }

    public static bool TryUnwrap(
        EcCurveInfo curve,
        ECDiffieHellman identity,
        byte[] identityPoint,
        Stanza stanza,
        Span<byte> fileKey)
    {
        using var ephemeral = curve.TryImportPoint(stanza.EphemeralPoint);
        if (ephemeral is null)
        {
            return false;
        }

        var shared = identity.DeriveRawSecretAgreement(ephemeral.PublicKey);
        Span<byte> wrapKey = stackalloc byte[FormatConstants.WrapKeyLength];
        try
        {
            DeriveWrapKey(shared, stanza.EphemeralPoint, identityPoint, wrapKey);
            using var gcm = new AesGcm(wrapKey, FormatConstants.TagLength);
            Span<byte> nonce = stackalloc byte[FormatConstants.NonceLength];
            nonce.Clear();
            gcm.Decrypt(
                nonce,
                stanza.WrappedFileKey.AsSpan(0, FormatConstants.FileKeyLength),
                stanza.WrappedFileKey.AsSpan(FormatConstants.FileKeyLength),
                fileKey,
                Aad(stanza.Type, stanza.KeyId));
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(fileKey);
            return false;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(shared);
            CryptographicOperations.ZeroMemory(wrapKey);
        }
    }

    private static void DeriveWrapKey(byte[] shared, byte[] ephemeralPoint, byte[] recipientPoint, Span<byte> wrapKey)
    {
        var salt = new byte[ephemeralPoint.Length + recipientPoint.Length];
        ephemeralPoint.CopyTo(salt, 0);
        recipientPoint.CopyTo(salt, ephemeralPoint.Length);
        HKDF.DeriveKey(HashAlgorithmName.SHA256, shared, wrapKey, salt, FormatConstants.LabelWrap);
    }

    private static byte[] Aad(byte type, byte[] keyId)
    {
        var aad = new byte[1 + keyId.Length];
        aad[0] = type;
        keyId.CopyTo(aad, 1);
        return aad;
    }
}
