using System.Security.Cryptography;
using TraceSeal.Sealing.Format;

namespace TraceSeal.Sealing.Recipients;

/// <summary>Key id = first 16 bytes of SHA-256(SubjectPublicKeyInfo DER), shown as lowercase hex (docs/format.md §3.1).</summary>
internal static class KeyIds
{
    public static byte[] Compute(ECDiffieHellman key)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(key.ExportSubjectPublicKeyInfo(), hash);
        return hash[..FormatConstants.KeyIdLength].ToArray();
    }

    public static string Format(ReadOnlySpan<byte> keyId) => Convert.ToHexStringLower(keyId);
}
