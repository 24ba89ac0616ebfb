using TraceSeal.OpenTelemetry.Configuration;
using TraceSeal.OpenTelemetry.Pipeline;
using TraceSeal.OpenTelemetry.Telemetry;

namespace TraceSeal.OpenTelemetry.Transport;

/// <summary>
/// Watches the CA, client certificate and key files (FileSystemWatcher for promptness, a periodic check because
/// notifications are lost on some volumes and symlink swaps) and applies a change once all files load and pass
/// the start-up checks. A half-written rotation (new key, old certificate) is rejected and retried; the last
/// good certificates stay in use meanwhile, so a broken file never fails every handshake.
/// </summary>
internal sealed class CertificateReloader : IDisposable
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(200);

    private readonly ExporterContext _context;
    private readonly ReloadingTransport _transport;
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly Timer _timer;
    private readonly object _gate = new();
    private byte[] _applied;
    private byte[]? _rejected;
    private bool _disposed;

    public CertificateReloader(ExporterContext context, ReloadingTransport transport, byte[] appliedFingerprint)
    {
        _context = context;
        _transport = transport;
        _applied = appliedFingerprint;
        TimeSpan interval = context.Options.CertificateReloadInterval;
        _timer = new Timer(_ => Check(), null, interval, interval);

        var directories = new[] { context.Settings.CaFile, context.Settings.ClientCertificateFile, context.Settings.ClientKeyFile }
            .Where(f => f.IsSet)
            .Select(f => Path.GetDirectoryName(Path.GetFullPath(f.Value!)))
            .Where(d => !string.IsNullOrEmpty(d) && Directory.Exists(d))
            .Distinct(StringComparer.Ordinal);
        foreach (string? directory in directories)
        {
            try
            {
                var watcher = new FileSystemWatcher(directory!)
                {
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
                    IncludeSubdirectories = false,
                };
                watcher.Changed += OnFileEvent;
                watcher.Created += OnFileEvent;
                watcher.Renamed += OnFileEvent;
                watcher.Deleted += OnFileEvent;
                watcher.EnableRaisingEvents = true;
                _watchers.Add(watcher);
            }
            catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
            {
                // inotify limits and the like: the periodic check still covers it.
            }
        }
    }

    /// <summary>Checks the files now; applies them when they changed and load.</summary>
    public void Check()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            byte[]? now = CertificateMaterial.CurrentFingerprint(_context.Settings);
            if (now is null || now.AsSpan().SequenceEqual(_applied) || (_rejected is not null && now.AsSpan().SequenceEqual(_rejected)))
            {
                return;
            }

            CertificateMaterial material;
            try
            {
                material = CertificateMaterial.Load(_context.Settings, DateTimeOffset.UtcNow);
            }
            catch (SecureOtlpConfigurationException e)
            {
                _rejected = now;
                SecureOtlpMetrics.CertificateReloads.Add(1, _context.SignalTag, new KeyValuePair<string, object?>("result", "rejected"));
                SecureOtlpLog.CertificateReloadRejected(_context.Logger, _context.Signal, string.Join("; ", e.Problems));
                return;
            }

            _applied = material.Fingerprint;
            _rejected = null;
            _transport.Apply(material);
            SecureOtlpMetrics.CertificateReloads.Add(1, _context.SignalTag, new KeyValuePair<string, object?>("result", "applied"));
            SecureOtlpLog.CertificatesReloaded(
                _context.Logger,
                _context.Signal,
                material.ClientCertificate?.Subject ?? "(none)",
                material.ClientCertificate?.SerialNumber ?? "-",
                material.ClientCertificate?.NotAfter.ToUniversalTime());
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        _timer.Dispose();
        foreach (FileSystemWatcher watcher in _watchers)
        {
            watcher.Dispose();
        }
    }

    private void OnFileEvent(object sender, FileSystemEventArgs e)
    {
        try
        {
            _timer.Change(Debounce, _context.Options.CertificateReloadInterval);
        }
        catch (ObjectDisposedException)
        {
            // Shutting down.
        }
    }
}
