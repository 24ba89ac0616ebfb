using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Receivers;

namespace TraceSeal.Collector.Tls;

/// <summary>
/// Keeps the current <see cref="TlsMaterial"/> of one <c>tls:</c> block and reloads it when its files change:
/// a FileSystemWatcher on their directories (debounced, because a certificate and its key are written one
/// after the other) plus a poll every reload_interval (default one minute, for file systems without
/// notifications). A reload that finds broken material (unparseable, key not matching, empty CA bundle,
/// half-written file) keeps the last good material and logs why; a good one is swapped in with one
/// reference write, so handshakes in flight keep the snapshot they started with and never fail.
/// Unlike upstream, a bad rotation never takes the listener down.
/// </summary>
internal sealed class CertificateReloader : IDisposable
{
    /// <summary>Long enough to cover "write cert, then write key"; short enough that rotation feels immediate.</summary>
    internal static readonly TimeSpan DebounceDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>The safety poll when reload_interval is not set.</summary>
    internal static readonly TimeSpan DefaultPollInterval = TimeSpan.FromMinutes(1);

    private readonly TlsServerSettings _settings;
    private readonly string _keyPrefix;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly Timer _debounce;
    private readonly Timer _poll;
    private TlsMaterial _current;
    private string? _lastError;
    private long _generation;
    private long _attempts;
    private long _failures;
    private TaskCompletionSource _attempted = NewSignal();
    private bool _disposed;

    /// <summary>Loads the material now (throws <see cref="ReceiverStartException"/>) and starts watching.</summary>
    public CertificateReloader(TlsServerSettings settings, string keyPrefix, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(logger);
        _settings = settings;
        _keyPrefix = keyPrefix;
        _logger = logger;
        _current = TlsMaterial.Load(settings, keyPrefix);
        LogLoaded(_current);

        TimeSpan interval = settings.ReloadInterval is { } configured && configured > TimeSpan.Zero ? configured : DefaultPollInterval;
        _debounce = new Timer(static s => ((CertificateReloader)s!).Reload(), this, Timeout.Infinite, Timeout.Infinite);
        _poll = new Timer(static s => ((CertificateReloader)s!).Reload(), this, interval, interval);
        Watch(interval);
    }

    /// <summary>The material new handshakes use.</summary>
    public TlsMaterial Current => Volatile.Read(ref _current);

    /// <summary>How many times new material was swapped in.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>How many reload attempts found broken material (and kept the old).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Completes after the next reload attempt, whatever its outcome (tests wait on this, never sleep).</summary>
    public Task NextAttempt => Volatile.Read(ref _attempted).Task;

    /// <summary>Waits until <paramref name="condition"/> holds after some reload attempt.</summary>
    public async Task WaitAsync(Func<CertificateReloader, bool> condition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(condition);
        while (true)
        {
            Task next = NextAttempt;
            if (condition(this))
            {
                return;
            }

            await next.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Schedules a reload after the debounce delay (what the watcher does on every event).</summary>
    public void ScheduleReload()
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _debounce.Change(DebounceDelay, Timeout.InfiniteTimeSpan);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        foreach (FileSystemWatcher watcher in _watchers)
        {
            watcher.Dispose();
        }

        _debounce.Dispose();
        _poll.Dispose();
        _attempted.TrySetCanceled();
    }

    private void Reload()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            TlsMaterial current = _current;
            TlsMaterial? loaded;
            bool unchanged;
            string? error;
            try
            {
                TlsMaterial.TryLoad(_settings, _keyPrefix, current.Fingerprint, out loaded, out unchanged, out error);
            }
            catch (Exception ex)
            {
                // A timer callback must never take the process down; whatever broke, the old material stays.
                (loaded, unchanged, error) = (null, false, $"{_keyPrefix.TrimEnd(':')}: reload failed ({ex.GetType().Name}: {ex.Message})");
            }

            if (error is null)
            {
                if (!unchanged)
                {
                    Volatile.Write(ref _current, loaded!);
                    Interlocked.Increment(ref _generation);
                    _lastError = null;
                    LogLoaded(loaded!);
                }
            }
            else
            {
                Interlocked.Increment(ref _failures);

                // A broken file stays broken until someone fixes it: say so once per distinct error, not every poll.
                if (!string.Equals(error, _lastError, StringComparison.Ordinal))
                {
                    _lastError = error;
                    ReceiverLog.TlsReloadFailed(_logger, error!);
                }
            }

            Interlocked.Increment(ref _attempts);
            Interlocked.Exchange(ref _attempted, NewSignal()).TrySetResult();
        }
    }

    private void Watch(TimeSpan pollInterval)
    {
        var directories = new List<string>(4);
        AddDirectory(directories, _settings.CertFile);
        AddDirectory(directories, _settings.KeyFile);
        AddDirectory(directories, _settings.ClientCaFile);
        AddDirectory(directories, _settings.CaFile);
        foreach (string directory in directories)
        {
            try
            {
                // The whole directory, not just the file names: Kubernetes secret volumes swap a `..data`
                // symlink, so the file itself never reports a change.
                var watcher = new FileSystemWatcher(directory)
                {
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
                    IncludeSubdirectories = false,
                };
                watcher.Changed += OnFileEvent;
                watcher.Created += OnFileEvent;
                watcher.Deleted += OnFileEvent;
                watcher.Renamed += OnFileEvent;
                watcher.Error += (_, e) => ReceiverLog.TlsWatcherFailed(_logger, _keyPrefix, directory, e.GetException().Message, pollInterval);
                watcher.EnableRaisingEvents = true;
                _watchers.Add(watcher);
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
            {
                ReceiverLog.TlsWatcherFailed(_logger, _keyPrefix, directory, ex.Message, pollInterval);
            }
        }
    }

    private void OnFileEvent(object sender, FileSystemEventArgs e) => ScheduleReload();

    private void LogLoaded(TlsMaterial material)
        => ReceiverLog.TlsLoaded(_logger, _keyPrefix.TrimEnd(':'), material.ServerCertificate.Subject, material.ServerCertificate.SerialNumber, material.ServerCertificate.NotAfter.ToUniversalTime());

    private static void AddDirectory(List<string> directories, string? file)
    {
        if (string.IsNullOrEmpty(file))
        {
            return;
        }

        string? directory = Path.GetDirectoryName(Path.GetFullPath(file));
        if (directory is not null && Directory.Exists(directory) && !directories.Contains(directory))
        {
            directories.Add(directory);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
