using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using TraceSeal.OpenTelemetry.Configuration;
using TraceSeal.OpenTelemetry.Pipeline;
using TraceSeal.OpenTelemetry.Telemetry;
using TraceSeal.Sealing;
using TraceSeal.Sealing.Files;

namespace TraceSeal.OpenTelemetry.Buffering;

/// <summary>One buffered batch, opened and authenticated.</summary>
internal sealed record BufferedBatch(string Path, string Name, long Items, byte[] Body);

/// <summary>
/// The sealed disk buffer of one signal: <c>DIR/&lt;signal&gt;/&lt;yyyyMMddHHmm&gt;-&lt;16 random hex&gt;.tsq</c>, each file one
/// sealed object (docs/format.md, kind queue, tenant = the signal) whose plaintext is
/// <c>"TSQ1" ‖ u32 item count ‖ the serialized OTLP Export*ServiceRequest</c> (no gRPC prefix, uncompressed).
/// Names hold a UTC minute bucket and a random id, nothing of the content. Directories are 0700 and files 0600
/// from the first byte; a file is written by <see cref="AtomicFile"/> (temporary name, fsync, rename, directory
/// fsync), and the key is a <see cref="PrivateKeyFile"/>: the implementations the collector's store and queue use.
/// A <c>*.tmp</c> left by a crash was never reported as kept; the next start deletes it. The total size of the
/// <c>.tsq</c> files stays within MaxBytes by dropping the oldest. Files that do not authenticate (truncated,
/// garbage, tampered, sealed to another key) are renamed <c>.bad</c> (quarantined), logged with their integrity code
/// and never sent.
/// <para>Why not the sealed segment log (Storage/Log, the collector's WAL and queue): that log lives in the Storage
/// project, which brings the S3 client and the OTLP types into every application using this package; and its unit
/// is a segment of many frames with cursors, while this buffer drops the oldest batch to stay within MaxBytes,
/// quarantines one bad batch without touching its neighbours and re-sends batches one by one, which one file per
/// batch does with no cursor at all. The buffer holds batches only while the collector is unreachable, so it needs
/// no group commit. The file format above is unchanged, so batches written by earlier versions are re-sent.</para>
/// </summary>
internal sealed class DiskBuffer : IDisposable
{
    internal const string Extension = ".tsq";
    internal const string QuarantineExtension = ".bad";
    private static readonly byte[] PayloadMagic = "TSQ1"u8.ToArray();

    private readonly ExporterContext _context;
    private readonly BufferSettings _settings;
    private readonly PrivateKeyFile _key;
    private readonly object _gate = new();
    private string? _inFlight;

    public DiskBuffer(ExporterContext context, BufferSettings settings)
    {
        _context = context;
        _settings = settings;
        Directory = Path.Combine(settings.Directory, context.Signal);
        _key = LoadKey(settings);
        try
        {
            CreatePrivateDirectory(settings.Directory, settings.DirectorySource);
            CreatePrivateDirectory(Directory, settings.DirectorySource);
            foreach (string stale in System.IO.Directory.EnumerateFiles(Directory, "*" + AtomicFile.TempExtension))
            {
                // An interrupted write (this version's NAME.tsq.tmp, or an older version's .HEX.tmp): never renamed,
                // so never acknowledged as kept, and never complete.
                File.Delete(stale);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _key.Dispose();
            throw new SecureOtlpConfigurationException($"{settings.DirectorySource}={settings.Directory}: the disk buffer directory cannot be prepared ({e.Message})", e);
        }

        SecureOtlpLog.BufferStarted(context.Logger, context.Signal, Directory, _key.Identity.KeyId, settings.KeyFile, _key.Created ? ", created now" : string.Empty, settings.MaxBytes, Pending().Count);
    }

    /// <summary>This signal's directory.</summary>
    public string Directory { get; }

    public long MaxBytes => _settings.MaxBytes;

    /// <summary>The buffered files, oldest first (minute bucket in the name, then write time).</summary>
    public IReadOnlyList<string> Pending()
    {
        lock (_gate)
        {
            return List().Select(f => f.FullName).ToList();
        }
    }

    /// <summary>Seals and writes one batch; false when it was not kept (too large, or the disk refused), which is counted and logged.</summary>
    public bool Write(ReadOnlySpan<byte> body, long items)
    {
        byte[] plaintext = new byte[PayloadMagic.Length + 4 + body.Length];
        byte[] sealedObject;
        try
        {
            PayloadMagic.CopyTo(plaintext, 0);
            BinaryPrimitives.WriteUInt32BigEndian(plaintext.AsSpan(PayloadMagic.Length), (uint)Math.Clamp(items, 0, uint.MaxValue));
            body.CopyTo(plaintext.AsSpan(PayloadMagic.Length + 4));
            sealedObject = Sealer.Seal(plaintext, ObjectKind.Queue, _context.Signal, [_key.Recipient]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }

        string name = DateTime.UtcNow.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)) + Extension;
        lock (_gate)
        {
            if (!MakeRoom(sealedObject.Length))
            {
                SecureOtlpMetrics.BufferDropped.Add(1, _context.SignalTag, SecureOtlpMetrics.Reason("max_bytes"));
                SecureOtlpLog.BufferDropped(_context.Logger, _context.Signal, name, $"the batch ({sealedObject.Length} bytes sealed) does not fit MaxBytes ({_settings.MaxBytes}); it was not written");
                return false;
            }

            try
            {
                // Temp file 0600, fsync, rename, directory fsync: the batch counts as kept only once it would
                // survive a crash or power loss. A failure leaves no temp file behind.
                AtomicFile.Write(Directory, name, sealedObject);
                return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                SecureOtlpMetrics.BufferDropped.Add(1, _context.SignalTag, SecureOtlpMetrics.Reason("write_failed"));
                SecureOtlpLog.BufferDropped(_context.Logger, _context.Signal, name, "writing it failed: " + e.Message);
                return false;
            }
        }
    }

    /// <summary>Opens the oldest file not yet tried in this pass; quarantines those that do not authenticate. Null when none is left.</summary>
    public BufferedBatch? Next(ISet<string> skip)
    {
        while (true)
        {
            string path;
            lock (_gate)
            {
                FileInfo? oldest = List().FirstOrDefault(f => !skip.Contains(f.FullName));
                if (oldest is null)
                {
                    return null;
                }

                path = oldest.FullName;
                _inFlight = path;
            }

            BufferedBatch? batch = Open(path);
            if (batch is not null)
            {
                return batch;
            }

            lock (_gate)
            {
                _inFlight = null;
            }

            skip.Add(path);
        }
    }

    /// <summary>The upstream accepted the batch (or refused it for good): its file goes.</summary>
    public void Remove(BufferedBatch batch)
    {
        lock (_gate)
        {
            AtomicFile.TryDelete(batch.Path);
            _inFlight = null;
        }
    }

    /// <summary>The batch stays for a later pass.</summary>
    public void Release()
    {
        lock (_gate)
        {
            _inFlight = null;
        }
    }

    public void Dispose() => _key.Dispose();

    private BufferedBatch? Open(string path)
    {
        string name = Path.GetFileName(path);
        byte[] sealedObject;
        try
        {
            sealedObject = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            SecureOtlpLog.BufferReplayDeferred(_context.Logger, _context.Signal, name, "it cannot be read: " + e.Message);
            return null;
        }

        string code;
        try
        {
            byte[] plaintext = Sealer.Open(sealedObject, [_key.Identity], out SealedObjectInfo info);
            if (info.ObjectKind != ObjectKind.Queue || !string.Equals(info.Tenant, _context.Signal, StringComparison.Ordinal))
            {
                code = "not_a_" + _context.Signal + "_queue_object";
            }
            else if (plaintext.Length < PayloadMagic.Length + 4 || !plaintext.AsSpan(0, PayloadMagic.Length).SequenceEqual(PayloadMagic))
            {
                code = "malformed_payload";
            }
            else
            {
                long items = BinaryPrimitives.ReadUInt32BigEndian(plaintext.AsSpan(PayloadMagic.Length));
                return new BufferedBatch(path, name, items, plaintext[(PayloadMagic.Length + 4)..]);
            }
        }
        catch (SealedIntegrityException e)
        {
            code = e.Code;
        }
        catch (NoIdentityMatchException)
        {
            code = "sealed_to_another_key";
        }

        Quarantine(path, name, code);
        return null;
    }

    private void Quarantine(string path, string name, string code)
    {
        string bad = path + QuarantineExtension;
        lock (_gate)
        {
            try
            {
                File.Move(path, bad, overwrite: true);
            }
            catch (FileNotFoundException)
            {
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // It cannot be moved aside: delete it rather than meet it again.
                AtomicFile.TryDelete(path);
            }
        }

        SecureOtlpMetrics.Quarantined.Add(1, _context.SignalTag, SecureOtlpMetrics.Reason(code));
        SecureOtlpLog.BufferQuarantined(_context.Logger, _context.Signal, name, code, Path.GetFileName(bad));
    }

    /// <summary>Drops the oldest files (never the one being re-sent) until <paramref name="size"/> more bytes fit. Under the gate.</summary>
    private bool MakeRoom(long size)
    {
        if (size > _settings.MaxBytes)
        {
            return false;
        }

        List<FileInfo> files = List();
        long total = files.Sum(f => f.Length);
        foreach (FileInfo oldest in files)
        {
            if (total + size <= _settings.MaxBytes)
            {
                break;
            }

            if (string.Equals(oldest.FullName, _inFlight, StringComparison.Ordinal))
            {
                continue;
            }

            AtomicFile.TryDelete(oldest.FullName);
            total -= oldest.Length;
            SecureOtlpMetrics.BufferDropped.Add(1, _context.SignalTag, SecureOtlpMetrics.Reason("max_bytes"));
            SecureOtlpLog.BufferDropped(_context.Logger, _context.Signal, oldest.Name, $"the buffer would exceed MaxBytes ({_settings.MaxBytes}); the oldest batch makes room for the newest");
        }

        return total + size <= _settings.MaxBytes;
    }

    private List<FileInfo> List()
    {
        var files = new List<FileInfo>();
        foreach (FileInfo file in new DirectoryInfo(Directory).EnumerateFiles("*" + Extension))
        {
            // EnumerateFiles("*.tsq") would also match longer extensions on some platforms; be exact.
            if (file.Name.EndsWith(Extension, StringComparison.Ordinal))
            {
                files.Add(file);
            }
        }

        return files
            .OrderBy(f => f.Name.Split('-')[0], StringComparer.Ordinal)
            .ThenBy(f => f.LastWriteTimeUtc)
            .ThenBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Creates the directory (0700, its parent fsync'ed) or narrows an existing one to 0700.</summary>
    private static void CreatePrivateDirectory(string path, string source)
    {
        DirectorySync.EnsureDirectory(Path.GetPathRoot(path)!, path, fsync: true);
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        UnixFileMode mode = File.GetUnixFileMode(path);
        if ((mode & ~AtomicFile.PrivateDirectoryMode & (UnixFileMode)0x1FF) != 0)
        {
            try
            {
                File.SetUnixFileMode(path, AtomicFile.PrivateDirectoryMode);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new SecureOtlpConfigurationException($"{source}: the buffer directory {path} is accessible to group or others (mode {Convert.ToString((int)mode & 0x1FF, 8)}) and cannot be set to 0700 ({e.Message})", e);
            }
        }
    }

    /// <summary>
    /// Loads the buffer's key, creating it (and its directory, 0700) when absent: <see cref="PrivateKeyFile"/>, the
    /// implementation the collector's queue key uses, with its checks (0600 from the first byte, refused when group or
    /// others may access it, refused when it holds no usable identity). Each problem is one line naming the setting.
    /// </summary>
    private static PrivateKeyFile LoadKey(BufferSettings settings)
    {
        try
        {
            string keyDirectory = Path.GetDirectoryName(settings.KeyFile)!;
            DirectorySync.EnsureDirectory(Path.GetPathRoot(keyDirectory)!, keyDirectory, fsync: true);
            return PrivateKeyFile.LoadOrCreate(settings.KeyFile);
        }
        catch (KeyFileException e)
        {
            // The message starts with the path: SOURCE=PATH: problem.
            string lost = e.Code == KeyFileException.Unusable
                ? "; replace it with the key the buffer was sealed to, or delete it to start with a new key (batches sealed to the old one are then set aside as .bad)"
                : string.Empty;
            throw new SecureOtlpConfigurationException($"{settings.KeyFileSource}={e.Message}{lost}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SecureOtlpConfigurationException($"{settings.KeyFileSource}={settings.KeyFile}: the directory of the disk buffer key file cannot be created ({e.Message})", e);
        }
    }
}
