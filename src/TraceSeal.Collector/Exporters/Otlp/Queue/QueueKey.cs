using TraceSeal.Storage;
using System.Security.Cryptography;
using System.Text;
using TraceSeal.Collector.Storage;
using TraceSeal.Sealing;

namespace TraceSeal.Collector.Exporters.Otlp.Queue;

/// <summary>
/// The queue key of a forwarding exporter: a P-256 identity (PKCS#8 "PRIVATE KEY" PEM, the format of
/// `traceseal keys init`) that opens this exporter's queue objects and nothing else. Unlike sealed_store,
/// a forwarding exporter must read its queue back, so it holds this one private key; readers' identity keys
/// never come near the collector. Created 0600 from the first byte on first start (docs/security.md).
/// </summary>
internal sealed class QueueKey
{
    private const UnixFileMode KeyMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private QueueKey(IIdentity identity, IRecipient recipient, bool created)
    {
        Identity = identity;
        Recipient = recipient;
        Created = created;
    }

    public IIdentity Identity { get; }

    public IRecipient Recipient { get; }

    /// <summary>This start created the key file.</summary>
    public bool Created { get; }

    /// <summary>Loads the key file, creating it first when absent; throws <see cref="InvalidOperationException"/> naming the problem.</summary>
    public static QueueKey LoadOrCreate(string path)
    {
        bool created = false;
        if (!File.Exists(path))
        {
            created = TryCreate(path);
        }

        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & GroupOrOther) != 0)
        {
            // As ssh does for private keys: a key others can read protects nothing.
            throw new InvalidOperationException($"{path} is accessible by group or others; the queue key must be private: chmod 600 {path}");
        }

        try
        {
            string pem = File.ReadAllText(path);
            IIdentity identity = KeyFiles.ParseIdentity(pem);
            using var ecdh = ECDiffieHellman.Create();
            ecdh.ImportFromPem(pem);
            IRecipient recipient = KeyFiles.ParseRecipient(ecdh.ExportSubjectPublicKeyInfoPem());
            return new QueueKey(identity, recipient, created);
        }
        catch (Exception e) when (e is InvalidDataException or CryptographicException or ArgumentException or IOException)
        {
            throw new InvalidOperationException($"{path}: not a usable queue key ({e.Message}); delete it to create a new one (the queued, unsent data is then lost)", e);
        }
    }

    /// <returns>False when another exporter sharing the file created it first.</returns>
    private static bool TryCreate(string path)
    {
        string? parent = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(parent) && !Directory.Exists(parent))
        {
            throw new InvalidOperationException($"{path}: directory {parent} does not exist; create it (outside the queue directory) or choose another queue_key_file");
        }

        using var ecdh = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        byte[] der = ecdh.ExportPkcs8PrivateKey();
        char[] chars = PemEncoding.Write("PRIVATE KEY", der);
        byte[] pem = Encoding.ASCII.GetBytes(chars);
        Array.Clear(chars);
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = KeyMode;
            }

            using var stream = new FileStream(path, options);
            stream.Write(pem);
            stream.WriteByte((byte)'\n');
            stream.Flush(flushToDisk: true);
            DirectorySync.Fsync(string.IsNullOrEmpty(parent) ? "." : parent);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(der);
            CryptographicOperations.ZeroMemory(pem);
        }
    }
}
