using TraceSeal.Storage.Log;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Data;

/// <summary>
/// `verify data DIR`: at rest, every file must be sealed, none may hold plaintext OTLP, and modes must be
/// private. Symbolic links are not followed (a link out of the store is reported, not scanned).
/// Every sealed object's header is parsed (<see cref="SealedHeader"/>, no key needed): it must be well formed
/// and name at least one recipient, and the recipients' key ids are summed up per store (the nearest
/// directory holding store.lock, else DIR) so operators can compare them with `traceseal keys inspect`.
/// The content checks are <see cref="ObjectChecks"/>, shared with s3:// stores (<see cref="S3DataScanner"/>).
/// </summary>
internal static class DataScanner
{
    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                                              | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>`verify data DIR|s3://BUCKET/PREFIX`. The --s3-* settings with a directory are a usage error.</summary>
    public static Task<Report> VerifyAsync(string target, string? s3Endpoint, string? s3Region, bool s3PathStyle, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        if (S3DataTarget.IsS3Uri(target))
        {
            return S3DataScanner.ScanAsync(S3DataTarget.Parse(target) with { Endpoint = s3Endpoint, Region = s3Region, ForcePathStyle = s3PathStyle }, ct);
        }

        if (s3Endpoint is not null || s3Region is not null || s3PathStyle)
        {
            throw new ArgumentException("--s3-endpoint, --s3-region and --s3-path-style apply to an s3://BUCKET/PREFIX target only");
        }

        return Task.FromResult(Scan(target));
    }

    /// <summary>What `traceseal up --dir D` writes: the config, the PKI, the keys, and the store under data/.</summary>
    public const string UpConfig = "collector.yaml";
    public const string UpStore = "data";

    /// <summary>The sealed store of a `traceseal up` directory (D/data), or null when <paramref name="directory"/> is not one.
    /// Such a directory holds certificates and keys by design: scanning it as a store reports each as unsealed.</summary>
    public static string? UpStoreOf(string directory) =>
        File.Exists(Path.Combine(directory, UpConfig)) && Directory.Exists(Path.Combine(directory, UpStore))
        && (Directory.Exists(Path.Combine(directory, "certs")) || Directory.Exists(Path.Combine(directory, "keys")))
            ? Path.Combine(directory, UpStore)
            : null;

    public static Report Scan(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"data directory not found: {directory}");
        }

        if (UpStoreOf(directory) is { } store)
        {
            throw new ArgumentException(
                $"{directory} is a `traceseal up` directory ({UpConfig}, certs/, keys/): its certificates and keys are meant to be there. " +
                $"The sealed store is {store}: run `traceseal verify data {store}` (or `traceseal verify report --up-dir {directory}` for everything)");
        }

        var report = new Report("data", directory);
        var stores = new StoreSummaries(directory);
        int files = 0;
        CheckMode(report, directory, isDirectory: true);
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.None, IgnoreInaccessible = false };
        foreach (string path in Directory.EnumerateFileSystemEntries(directory, "*", options).Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is not null)
            {
                report.Add(CheckResult.Finding(Catalogue.DataNotSealed, $"symbolic link to {info.LinkTarget}: not followed", At(path)));
                continue;
            }

            bool isDirectory = info.Attributes.HasFlag(FileAttributes.Directory);
            CheckMode(report, path, isDirectory);
            if (!isDirectory)
            {
                files++;
                CheckContent(report, stores.For(path), path, info.Length);
            }
        }

        foreach (var summary in stores.All)
        {
            report.Add(CheckResult.Pass(Catalogue.DataNoRecipient, summary.Describe()));
        }

        foreach (var rule in Catalogue.DataRules)
        {
            if (!report.Has(rule))
            {
                // Modes were looked at even in an empty directory (the directory itself); content rules need files.
                report.Add(files > 0 || rule == Catalogue.DataPermissions
                    ? CheckResult.Pass(rule, $"{rule.Title} ({files} files)")
                    : CheckResult.NotChecked(rule, "the directory holds no files yet"));
            }
        }

        return report;
    }

    /// <summary>Runs the shared content checks on one file. File reads complete synchronously, so waiting on the
    /// task blocks nothing.</summary>
    private static void CheckContent(Report report, StoreSummary store, string path, long length)
    {
        if (length == 0)
        {
            return;
        }

        using var handle = File.OpenHandle(path);
        ReadRange read = (offset, count, _) =>
        {
            byte[] buffer = new byte[count];
            int total = 0;
            for (int n; total < count && (n = RandomAccess.Read(handle, buffer.AsSpan(total), offset + total)) > 0;)
            {
                total += n;
            }

            return Task.FromResult(total == count ? buffer : buffer[..total]);
        };
        ScanLog scan = (v1, _) => Task.FromResult(v1 ? LogScan.ScanV1(handle) : LogScan.Scan(handle));
        ObjectChecks.CheckAsync(report, store, path, At(path), length, read, scan, CancellationToken.None).GetAwaiter().GetResult();
    }

    private static void CheckMode(Report report, string path, bool isDirectory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        UnixFileMode mode = File.GetUnixFileMode(path);
        if ((mode & GroupOrOther) != 0)
        {
            string octal = Convert.ToString((int)mode, 8).PadLeft(4, '0');
            report.Add(CheckResult.Finding(Catalogue.DataPermissions,
                $"{(isDirectory ? "directory" : "file")} mode {octal}, wider than {(isDirectory ? "0700" : "0600")}", At(path)));
        }
    }

    private static SourceLocation At(string path) => new(path, 1, 1);

    /// <summary>Stores by root: the nearest directory (up to DIR) holding store.lock, else DIR itself.</summary>
    private sealed class StoreSummaries(string scanned)
    {
        private const string LockFile = "store.lock";

        private readonly string _scanned = Path.TrimEndingDirectorySeparator(Path.GetFullPath(scanned));
        private readonly Dictionary<string, StoreSummary> _byRoot = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _rootOfDirectory = new(StringComparer.Ordinal);

        public IEnumerable<StoreSummary> All => _byRoot.Values.Where(s => s.Objects > 0).OrderBy(s => s.Root, StringComparer.Ordinal);

        public StoreSummary For(string file)
        {
            string root = Root(Path.GetDirectoryName(Path.GetFullPath(file))!);
            if (!_byRoot.TryGetValue(root, out var summary))
            {
                summary = new StoreSummary(root);
                _byRoot.Add(root, summary);
            }

            return summary;
        }

        private string Root(string directory)
        {
            if (_rootOfDirectory.TryGetValue(directory, out var known))
            {
                return known;
            }

            string root = File.Exists(Path.Combine(directory, LockFile)) ? directory
                : directory.Length <= _scanned.Length ? _scanned // reached DIR: no store.lock on the way up
                : Root(Path.GetDirectoryName(directory)!);
            _rootOfDirectory[directory] = root;
            return root;
        }
    }
}
