using System.Security.Cryptography;

namespace TraceSeal.Sealing.Format;

/// <summary>
/// Every key derived from the file key (docs/format.md §4):
/// <code>
///   header_key  = HKDF-SHA-256(ikm = file_key, salt = "",           info = "traceseal/v1/header",  32)
///   header_mac  = HMAC-SHA-256(header_key, header bytes before the MAC)
///   payload_key = HKDF-SHA-256(ikm = file_key, salt = payload_salt, info = "traceseal/v1/payload", 32)
///   context_hash = SHA-256(object context)          the AAD of every payload chunk (§5)
/// </code>
/// </summary>
internal static class KeySchedule
{
    public static void DeriveHeaderKey(ReadOnlySpan<byte> fileKey, Span<byte> headerKey) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, fileKey, headerKey[..FormatConstants.HeaderKeyLength], [], FormatConstants.LabelHeader);

    public static void DerivePayloadKey(ReadOnlySpan<byte> fileKey, ReadOnlySpan<byte> payloadSalt, Span<byte> payloadKey) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, fileKey, payloadKey[..FormatConstants.PayloadKeyLength], payloadSalt, FormatConstants.LabelPayload);

    public static void ComputeHeaderMac(ReadOnlySpan<byte> fileKey, ReadOnlySpan<byte> macInput, Span<byte> mac)
    {
        Span<byte> headerKey = stackalloc byte[FormatConstants.HeaderKeyLength];
        try
        {
            DeriveHeaderKey(fileKey, headerKey);
            HMACSHA256.HashData(headerKey, macInput, mac);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(headerKey);
        }
    }

    /// <summary>Constant-time check of the header MAC; also the key commitment (§6).</summary>
    public static bool VerifyHeaderMac(ReadOnlySpan<byte> fileKey, Header header)
    {
        Span<byte> expected = stackalloc byte[FormatConstants.HeaderMacLength];
        ComputeHeaderMac(fileKey, header.MacInput, expected);
        return CryptographicOperations.FixedTimeEquals(expected, header.Mac);
    }

    public static byte[] ObjectContextHash(ReadOnlySpan<byte> objectContext) => SHA256.HashData(objectContext);
}
