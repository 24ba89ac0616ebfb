using System.Security.Cryptography;
using System.Text;
using TraceSeal.Sealing.Files;
using TraceSeal.Sealing.Keys;
using TraceSeal.Sealing.Recipients;

namespace TraceSeal.Sealing;

/// <summary>A key file's problem, in one line that names the file and the fix; <see cref="Code"/> says which (stable, snake_case).</summary>
public sealed class KeyFileException(string code, string message, Exception? inner = null) : IOException(message, inner)
{
    public const string DirectoryMissing = "directory_missing";
    public const string NotPrivate = "not_private";
    public const string Unusable = "unusable_key";
    public const string IoError = "io_error";

    public string Code { get; } = code;
}

/// <summary>
/// A private key a component keeps for itself, to read back what it sealed: the collector's queue key
/// (<c>sending_queue::queue_key_file</c>) and the SDK add-on's disk buffer key (<c>TRACESEAL_OTLP_BUFFER_KEY_FILE</c>).
/// A P-256 identity as unencrypted PKCS#8 "PRIVATE KEY" PEM, the format of <c>traceseal keys init</c>.
/// <list type="bullet">
/// <item>Created when absent through <see cref="AtomicFile.TryCreate"/>: 0600 from the first byte, fsync'ed, renamed
/// into place, directory fsync'ed; a crash leaves no half-written key. Two creators racing (exporters of one app or
/// collector sharing the file) end up with the one that was renamed first.</item>
/// <item>Refused when group or others have any access (as ssh refuses private keys): a key others can read protects
/// nothing.</item>
/// <item>Refused, naming the reason, when it holds no usable identity.</item>
/// </list>
/// Every failure is a <see cref="KeyFileException"/> whose message starts with the path; callers add what deleting the
/// file costs them.
/// </summary>
public sealed class PrivateKeyFile : IDisposable
{
    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private PrivateKeyFile(IIdentity identity, IRecipient recipient, bool created)
    {
        Identity = identity;
        Recipient = recipient;
        Created = created;
    }

    /// <summary>Opens what was sealed to <see cref="Recipient"/>.</summary>
    public IIdentity Identity { get; }

    /// <summary>The public half: what the component seals to.</summary>
    public IRecipient Recipient { get; }

    /// <summary>This call created the file.</summary>
    public bool Created { get; }

    /// <summary>Loads <paramref name="path"/>, creating it first when absent. Its directory must exist.</summary>
    public static PrivateKeyFile LoadOrCreate(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        bool created = false;
        try
        {
            if (!File.Exists(path))
            {
                string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
                if (!Directory.Exists(directory))
                {
                    throw new KeyFileException(KeyFileException.DirectoryMissing, $"{path}: directory {directory} does not exist");
                }

                byte[] pem = NewKeyPem();
                try
                {
                    created = AtomicFile.TryCreate(directory, Path.GetFileName(path), pem);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(pem);
                }
            }

            if (!OperatingSystem.IsWindows() && File.GetUnixFileMode(path) is var mode && (mode & GroupOrOther) != 0)
            {
                string octal = Convert.ToString((int)mode & 0x1FF, 8).PadLeft(4, '0');
                throw new KeyFileException(KeyFileException.NotPrivate, $"{path} is accessible by group or others (mode {octal}); a private key others can read protects nothing: chmod 600 {path}");
            }

            var identity = (EcIdentity)KeyFiles.ParseIdentity(File.ReadAllText(path));
            return new PrivateKeyFile(identity, identity.ToRecipient(), created);
        }
        catch (Exception e) when (e is InvalidDataException or CryptographicException or ArgumentException)
        {
            throw new KeyFileException(KeyFileException.Unusable, $"{path}: not a usable private key ({e.Message})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not KeyFileException)
        {
            throw new KeyFileException(KeyFileException.IoError, $"{path}: the key file cannot be {(created || File.Exists(path) ? "read" : "created")} ({e.Message})", e);
        }
    }

    public void Dispose() => (Identity as IDisposable)?.Dispose();

    private static byte[] NewKeyPem()
    {
        using var ecdh = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        byte[] der = ecdh.ExportPkcs8PrivateKey();
        char[] chars = PemEncoding.Write(PemBlocks.PrivateKey, der);
        try
        {
            byte[] pem = new byte[chars.Length + 1];
            Encoding.ASCII.GetBytes(chars, pem);
            pem[^1] = (byte)'\n';
            return pem;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(der);
            Array.Clear(chars);
        }
    }
}
