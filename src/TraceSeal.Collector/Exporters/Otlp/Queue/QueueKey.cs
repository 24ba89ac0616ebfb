using TraceSeal.Sealing;

namespace TraceSeal.Collector.Exporters.Otlp.Queue;

/// <summary>
/// The queue key of a forwarding exporter: a P-256 identity (PKCS#8 "PRIVATE KEY" PEM, the format of
/// `traceseal keys init`) that opens this exporter's queue objects and nothing else. Unlike sealed_store,
/// a forwarding exporter must read its queue back, so it holds this one private key; readers' identity keys
/// never come near the collector. Created 0600 from the first byte on first start (docs/security.md), loaded and
/// checked by <see cref="PrivateKeyFile"/>, the one implementation the SDK add-on's disk buffer key uses too.
/// </summary>
internal sealed class QueueKey
{
    private QueueKey(PrivateKeyFile file)
    {
        Identity = file.Identity;
        Recipient = file.Recipient;
        Created = file.Created;
    }

    public IIdentity Identity { get; }

    public IRecipient Recipient { get; }

    /// <summary>This start created the key file.</summary>
    public bool Created { get; }

    /// <summary>Loads the key file, creating it first when absent; throws <see cref="InvalidOperationException"/> naming the problem.</summary>
    public static QueueKey LoadOrCreate(string path)
    {
        string? parent = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(parent) && !Directory.Exists(parent))
        {
            throw new InvalidOperationException($"{path}: directory {parent} does not exist; create it (outside the queue directory) or choose another queue_key_file");
        }

        try
        {
            return new QueueKey(PrivateKeyFile.LoadOrCreate(path));
        }
        catch (KeyFileException e) when (e.Code == KeyFileException.Unusable)
        {
            throw new InvalidOperationException($"{e.Message}; delete it to create a new one (the queued, unsent data is then lost)", e);
        }
        catch (KeyFileException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }
    }
}
