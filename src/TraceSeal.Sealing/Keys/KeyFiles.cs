using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using TraceSeal.Sealing.Keys;
using TraceSeal.Sealing.Recipients;

namespace TraceSeal.Sealing;

/// <summary>
/// Recipient and identity key files (docs/format.md §3.1, §10):
/// <c>N.recipient.pem</c> is a standard SubjectPublicKeyInfo "PUBLIC KEY" PEM (mode 0644; a
/// "TRACESEAL RECIPIENT" label is accepted too); <c>N.identity.pem</c> is PKCS#8 "PRIVATE KEY", or
/// "ENCRYPTED PRIVATE KEY" (PBES2: PBKDF2-HMAC-SHA-256, 600 000 iterations, AES-256-CBC) when a
/// passphrase is given, created with mode 0600.
/// </summary>
public static partial class KeyFiles
{
    /// <summary>PBKDF2-HMAC-SHA-256 iterations: OWASP's 2023 recommendation for that PRF.</summary>
    internal const int PassphraseIterations = 600_000;

    internal const string RecipientSuffix = ".recipient.pem";
    internal const string IdentitySuffix = ".identity.pem";

    private const UnixFileMode RecipientMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private const UnixFileMode IdentityMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    internal static readonly PbeParameters IdentityPbe =
        new(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, PassphraseIterations);

    /// <summary>
    /// <c>traceseal keys init</c>: creates <c>{name}.recipient.pem</c> and <c>{name}.identity.pem</c>
    /// in <paramref name="outDir"/> and returns their paths in that order. Refuses to overwrite either
    /// file unless <paramref name="force"/>.
    /// </summary>
    public static IReadOnlyList<string> Init(string outDir, string name, string curve = "p256", string? passphrase = null, bool force = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(outDir);
        ArgumentNullException.ThrowIfNull(name);
        if (!KeyName().IsMatch(name))
        {
            throw new ArgumentException($"key name '{name}' must be 1-64 characters of A-Z a-z 0-9 . _ - and start with a letter or digit", nameof(name));
        }

        var curveInfo = EcCurveInfo.FromName(curve ?? string.Empty)
            ?? throw new ArgumentException($"curve '{curve}' is not supported; use p256 (default) or p384", nameof(curve));
        if (passphrase is { Length: 0 })
        {
            throw new ArgumentException("the passphrase is empty; omit it for an unprotected identity file", nameof(passphrase));
        }

        Directory.CreateDirectory(outDir);
        var recipientPath = Path.Combine(outDir, name + RecipientSuffix);
        var identityPath = Path.Combine(outDir, name + IdentitySuffix);
        foreach (var path in new[] { recipientPath, identityPath })
        {
            if (!force && (File.Exists(path) || Directory.Exists(path)))
            {
                throw new IOException($"{path} already exists; refusing to overwrite a key file (pass --force to replace it)");
            }
        }

        using var identity = new EcIdentity(curveInfo, ECDiffieHellman.Create(curveInfo.Curve));
        var der = passphrase is null ? identity.ExportPkcs8() : identity.ExportEncryptedPkcs8(passphrase, IdentityPbe);
        var pem = PemEncoding.Write(passphrase is null ? PemBlocks.PrivateKey : PemBlocks.EncryptedPrivateKey, der);
        var pemBytes = Encoding.ASCII.GetBytes(pem);
        try
        {
            WriteNewFile(identityPath, pemBytes, IdentityMode);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(der);
            CryptographicOperations.ZeroMemory(pemBytes);
            Array.Clear(pem);
        }

        var recipientPem = PemEncoding.WriteString(PemBlocks.PublicKey, identity.ToRecipient().ExportSubjectPublicKeyInfo()) + "\n";
        WriteNewFile(recipientPath, Encoding.ASCII.GetBytes(recipientPem), RecipientMode);
        return [recipientPath, identityPath];
    }

    public static IRecipient LoadRecipient(string path) => WithPath(path, () => ParseRecipient(File.ReadAllText(path)));

    /// <summary>A recipient from PEM text ("PUBLIC KEY" or "TRACESEAL RECIPIENT" SubjectPublicKeyInfo, P-256 or P-384).</summary>
    public static IRecipient ParseRecipient(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var blocks = PemBlocks.Read(pem);
        foreach (var (label, _) in blocks)
        {
            if (PemBlocks.IsPrivate(label))
            {
                throw new InvalidDataException(
                    "this file holds a private key (an identity); collectors must be given the .recipient.pem file, never the identity");
            }
        }

        foreach (var (label, der) in blocks)
        {
            if (label is PemBlocks.PublicKey or PemBlocks.TraceSealRecipient)
            {
                return EcRecipient.FromSubjectPublicKeyInfo(der);
            }
        }

        throw new InvalidDataException("no \"PUBLIC KEY\" or \"TRACESEAL RECIPIENT\" PEM block found");
    }

    public static IIdentity LoadIdentity(string path, string? passphrase = null) =>
        WithPath(path, () => ParseIdentity(File.ReadAllText(path), passphrase));

    /// <summary>An identity from PEM text ("PRIVATE KEY" or "ENCRYPTED PRIVATE KEY" PKCS#8, P-256 or P-384).</summary>
    public static IIdentity ParseIdentity(string pem, string? passphrase = null)
    {
        ArgumentNullException.ThrowIfNull(pem);
        foreach (var (label, der) in PemBlocks.Read(pem))
        {
            try
            {
                switch (label)
                {
                    case PemBlocks.PrivateKey:
                        return EcIdentity.FromPkcs8(der);
                    case PemBlocks.EncryptedPrivateKey when passphrase is null:
                        throw new InvalidDataException("the identity is passphrase-protected; give its passphrase");
                    case PemBlocks.EncryptedPrivateKey:
                        try
                        {
                            return EcIdentity.FromEncryptedPkcs8(der, passphrase);
                        }
                        catch (CryptographicException e)
                        {
                            throw new InvalidDataException("wrong passphrase, or the identity file is corrupt", e);
                        }
                }
            }
            finally
            {
                CryptographicOperations.ZeroMemory(der);
            }
        }

        throw new InvalidDataException(pem.Contains("-----BEGIN " + PemBlocks.PublicKey + "-----", StringComparison.Ordinal)
                || pem.Contains("-----BEGIN " + PemBlocks.TraceSealRecipient + "-----", StringComparison.Ordinal)
            ? "this is a recipient (public) key: it can seal but not open; give the reader's identity key (NAME.identity.pem from `traceseal keys init`)"
            : "no \"PRIVATE KEY\" or \"ENCRYPTED PRIVATE KEY\" PEM block found");
    }

    /// <summary>True if the file holds private key material in any PEM block (collectors refuse such files).</summary>
    public static bool IsIdentityFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        foreach (var (label, der) in PemBlocks.Read(File.ReadAllText(path)))
        {
            CryptographicOperations.ZeroMemory(der);
            if (PemBlocks.IsPrivate(label))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// <c>traceseal keys inspect</c>: one line, e.g. <c>recipient curve=p256 key_id=…</c>. A
    /// passphrase-protected identity shows its key id only when the passphrase is given.
    /// </summary>
    public static string Describe(string path, string? passphrase = null)
    {
        if (IsIdentityFile(path))
        {
            bool encrypted = PemBlocks.Read(File.ReadAllText(path)).Exists(b => b.Label == PemBlocks.EncryptedPrivateKey);
            if (encrypted && passphrase is null)
            {
                return "identity passphrase-protected (give the passphrase to show curve and key_id)";
            }

            var identity = (EcIdentity)LoadIdentity(path, passphrase);
            using (identity)
            {
                return $"identity curve={identity.Curve.Name} key_id={identity.KeyId}{(encrypted ? " passphrase-protected" : string.Empty)}";
            }
        }

        var recipient = (EcRecipient)LoadRecipient(path);
        return $"recipient curve={recipient.Curve.Name} key_id={recipient.KeyId}";
    }

    private static T WithPath<T>(string path, Func<T> load)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return load();
        }
        catch (Exception e) when (e is InvalidDataException or CryptographicException)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    private static void WriteNewFile(string path, byte[] content, UnixFileMode mode)
    {
        if (File.Exists(path))
        {
            File.Delete(path); // only reached with force; CreateNew below then sets the mode from creation
        }

        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }

        using var stream = new FileStream(path, options);
        stream.Write(content);
        stream.Flush(flushToDisk: true);
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex KeyName();
}
