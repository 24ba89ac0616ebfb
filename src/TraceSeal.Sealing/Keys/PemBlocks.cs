using System.Security.Cryptography;

namespace TraceSeal.Sealing.Keys;

/// <summary>The PEM blocks of a key file, in order (RFC 7468).</summary>
internal static class PemBlocks
{
    public const string PublicKey = "PUBLIC KEY";
    public const string TraceSealRecipient = "TRACESEAL RECIPIENT";
    public const string PrivateKey = "PRIVATE KEY";
    public const string EncryptedPrivateKey = "ENCRYPTED PRIVATE KEY";

    public static List<(string Label, byte[] Der)> Read(string text)
    {
        var blocks = new List<(string, byte[])>();
        var rest = text.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            var label = rest[fields.Label].ToString();
            var der = new byte[fields.DecodedDataLength];
            if (!Convert.TryFromBase64Chars(rest[fields.Base64Data], der, out int written) || written != der.Length)
            {
                throw new InvalidDataException($"PEM block '{label}' has invalid base64");
            }

            blocks.Add((label, der));
            rest = rest[fields.Location.End..];
        }

        return blocks;
    }

    /// <summary>Any block that carries private key material, whatever its format.</summary>
    public static bool IsPrivate(string label) => label.Contains("PRIVATE KEY", StringComparison.Ordinal);
}
