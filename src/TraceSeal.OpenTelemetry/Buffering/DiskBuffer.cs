using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using TraceSeal.OpenTelemetry.Configuration;
using TraceSeal.OpenTelemetry.Pipeline;
using TraceSeal.OpenTelemetry.Telemetry;
using TraceSeal.Sealing;

namespace TraceSeal.OpenTelemetry.Buffering;

/// <summary>One buffered batch, opened and authenticated.</summary>
internal sealed record BufferedBatch(string Path, string Name, long Items, byte[] Body);

/// <summary>
/// The sealed disk buffer of one signal: <c>DIR/&lt;signal&gt;/&lt;yyyyMMddHHmm&gt;-&lt;16 random hex&gt;.tsq</c>, each file one
/// sealed object (docs/format.md, kind queue, tenant = the signal) whose plaintext is
/// <c>"TSQ1" ‖ u32 item count ‖ the serialized OTLP Export*ServiceRequest</c> (no gRPC prefix, uncompressed).
/// Names hold a UTC minute bucket and a random id, nothing of the content. Directories are 0700 and files 0600
/// from the first byte; a file is written to a temporary name, fsync'ed, then renamed. The total size of the
/// <c>.tsq</c> files stays within MaxBytes by dropping the oldest. Files that do not authenticate are renamed
/// <c>.bad</c> (quarantined) and never sent.
/// </summary>
internal sealed class DiskBuffer : IDisposable
{
    internal const string Extension = ".tsq";
    internal const string QuarantineExtension = ".bad";
    private const string TempExtension = ".tmp";
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private static readonly byte[] PayloadMagic = "TSQ1"u8.ToArray();

    private readonly ExporterContext _context;
    private readonly BufferSettings _settings;
    private readonly IIdentity _identity;
    private readonly IRecipient _recipient;
    private readonly object _gate = new();
    private string? _inFlight;

    public DiskBuffer(ExporterContext context, BufferSettings settings)
    {
        _context = context;
        _settings = settings;
        Directory = Path.Combine(settings.Directory, context.Signal);
        bool created = EnsureKey(settings, out _identity, out _recipient);
        try
        {
            CreatePrivateDirectory(settings.Directory, settings.DirectorySource);
            CreatePrivateDirectory(Directory, settings.DirectorySource);
            foreach (string stale in System.IO.Directory.EnumerateFiles(Directory, "*" + TempExtension))
            {
                // An interrupted write: never renamed, so never complete.
                File.Delete(stale);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            (_identity as IDisposable)?.Dispose();
            throw new SecureOtlpConfigurationException($"{settings.DirectorySource}={settings.Directory}: the disk buffer directory cannot be prepared ({e.Message})", e);
        }

        SecureOtlpLog.BufferStarted(context.Logger, context.Signal, Directory, _identity.KeyId, settings.KeyFile, created ? ", created now" : string.Empty, settings.MaxBytes, Pending().Count);
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
            sealedObject = Sealer.Seal(plaintext, ObjectKind.Queue, _context.Signal, [_recipient]);
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

            string final = Path.Combine(Directory, name);
            string temp = Path.Combine(Directory, "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)) + TempExtension);
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = FileMode600;
                }

                using (var stream = new FileStream(temp, options))
                {
                    stream.Write(sealedObject);
                    stream.Flush(flushToDisk: true);
                }

                File.Move(temp, final, overwrite: false);
                return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                TryDelete(temp);
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
            TryDelete(batch.Path);
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

    public void Dispose() => (_identity as IDisposable)?.Dispose();

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
            byte[] plaintext = Sealer.Open(sealedObject, [_identity], out SealedObjectInfo info);
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
                TryDelete(path);
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

            TryDelete(oldest.FullName);
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

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the next pass.
        }
    }

    private static void CreatePrivateDirectory(string path, string source)
    {
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(path);
            return;
        }

        if (!System.IO.Directory.Exists(path))
        {
            System.IO.Directory.CreateDirectory(path, DirectoryMode);
        }

        UnixFileMode mode = File.GetUnixFileMode(path);
        if ((mode & ~DirectoryMode & (UnixFileMode)0x1FF) != 0)
        {
            try
            {
                File.SetUnixFileMode(path, DirectoryMode);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new SecureOtlpConfigurationException($"{source}: the buffer directory {path} is accessible to group or others (mode {Convert.ToString((int)mode & 0x1FF, 8)}) and cannot be set to 0700 ({e.Message})", e);
            }
        }
    }

    /// <summary>Loads the identity, creating it (0600, atomically) when absent; true when created now.</summary>
    private static bool EnsureKey(BufferSettings settings, out IIdentity identity, out IRecipient recipient)
    {
        bool created = false;
        string where = $"{settings.KeyFileSource}={settings.KeyFile}";
        try
        {
            if (!File.Exists(settings.KeyFile))
            {
                string keyDirectory = Path.GetDirectoryName(settings.KeyFile)!;
                if (!System.IO.Directory.Exists(keyDirectory))
                {
                    if (OperatingSystem.IsWindows())
                    {
                        System.IO.Directory.CreateDirectory(keyDirectory);
                    }
                    else
                    {
                        System.IO.Directory.CreateDirectory(keyDirectory, DirectoryMode);
                    }
                }

                // KeyFiles.Init writes the identity 0600 from the first byte; a rename moves it into place whole.
                string temporary = "tsbuf-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
                IReadOnlyList<string> files = KeyFiles.Init(keyDirectory, temporary);
                try
                {
                    File.Move(files[1], settings.KeyFile, overwrite: false);
                    created = true;
                }
                catch (IOException) when (File.Exists(settings.KeyFile))
                {
                    // Another exporter of this app created it first: use theirs.
                }
                finally
                {
                    TryDelete(files[0]);
                    TryDelete(files[1]);
                }
            }

            identity = KeyFiles.LoadIdentity(settings.KeyFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or CryptographicException)
        {
            throw new SecureOtlpConfigurationException($"{where}: the disk buffer key file cannot be {(File.Exists(settings.KeyFile) ? "loaded" : "created")}: {e.Message}", e);
        }

        try
        {
            using var key = ECDiffieHellman.Create();
            key.ImportFromPem(File.ReadAllText(settings.KeyFile));
            recipient = KeyFiles.ParseRecipient(key.ExportSubjectPublicKeyInfoPem());
            if (!string.Equals(recipient.KeyId, identity.KeyId, StringComparison.Ordinal))
            {
                throw new InvalidDataException("its public key does not match its identity");
            }
        }
        catch (Exception e) when (e is IOException or ArgumentException or InvalidDataException or CryptographicException)
        {
            (identity as IDisposable)?.Dispose();
            throw new SecureOtlpConfigurationException($"{where}: the disk buffer key file does not hold a usable identity: {e.Message}", e);
        }

        return created;
    }
}
