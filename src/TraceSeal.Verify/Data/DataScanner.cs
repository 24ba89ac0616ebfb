using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Data;

/// <summary>
/// `verify data DIR`: at rest, every file must be sealed, none may hold plaintext OTLP, and modes must be
/// private. Symbolic links are not followed (a link out of the store is reported, not scanned).
/// Every sealed object's header is parsed (<see cref="SealedHeader"/>, no key needed): it must be well formed
/// and name at least one recipient, and the recipients' key ids are summed up per store (the nearest
/// directory holding store.lock, else DIR) so operators can compare them with `traceseal keys inspect`.
/// Not done yet: s3:// stores.
/// </summary>
internal static class DataScanner
{
    /// <summary>Enough for the protobuf heuristic on any realistic spill file without reading a whole block.</summary>
    private const int MaxInspectBytes = 16 * 1024 * 1024;

    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                                              | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    public static Report Scan(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"data directory not found: {directory}");
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
            if (!report.Results.Any(r => ReferenceEquals(r.Rule, rule)))
            {
                report.Add(CheckResult.Pass(rule, $"{rule.Title} ({files} files)"));
            }
        }

        return report;
    }

    private static void CheckContent(Report report, StoreSummary store, string path, long length)
    {
        if (length == 0)
        {
            return; // nothing to leak; writers create files before the first record
        }

        if (path.EndsWith(".wal", StringComparison.Ordinal) || path.EndsWith(".walseg", StringComparison.Ordinal))
        {
            CheckWalFrames(report, store, path, length);
            return;
        }

        byte[] content;
        using (var stream = File.OpenRead(path))
        {
            content = new byte[(int)Math.Min(length, MaxInspectBytes)];
            stream.ReadExactly(content);
        }

        if (SealedMagic.HasMagic(content))
        {
            if (!SealedMagic.IsKnownVersion(content))
            {
                string version = content.Length > SealedMagic.Magic.Length ? $"0x{content[SealedMagic.Magic.Length]:x2}" : "missing";
                report.Add(CheckResult.Finding(Catalogue.DataNotSealed, $"sealed magic with unknown version {version}", At(path)));
                return;
            }

            CheckHeader(report, store, path, content.AsSpan(0, Math.Min(content.Length, SealedHeader.MaxLength)), where: null);
            return;
        }

        if (PlaintextOtlp.Detect(content, out string what))
        {
            report.Add(CheckResult.Finding(Catalogue.DataPlaintextOtlp, $"holds {what} in plaintext", At(path)));
            return;
        }

        report.Add(CheckResult.Finding(Catalogue.DataNotSealed, "not a sealed object (no TSEAL magic)", At(path)));
    }

    /// <summary>
    /// A WAL segment (live `.wal` or recovered `.walseg`) is a run of frames `[u32 BE length][sealed object]`
    /// (docs/format.md §12): every frame must be a sealed object. A frame that runs past the end of the file is
    /// a torn tail the writer cuts at its next start, not plaintext, so it is not a finding.
    /// </summary>
    private static void CheckWalFrames(Report report, StoreSummary store, string path, long length)
    {
        using var stream = File.OpenRead(path);
        Span<byte> lengthPrefix = stackalloc byte[4];
        byte[] head = new byte[SealedHeader.MaxLength];
        long offset = 0;
        for (int frame = 0; offset + 4 <= length; frame++)
        {
            stream.Position = offset;
            stream.ReadExactly(lengthPrefix);
            long frameLength = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(lengthPrefix);
            if (offset + 4 + frameLength > length)
            {
                return; // torn tail: the writer was cut off mid-frame
            }

            string where = $"WAL frame {frame} at offset {offset}";
            var sealedHead = head.AsSpan(0, (int)Math.Min(frameLength, head.Length));
            stream.ReadExactly(sealedHead);
            if (!SealedMagic.HasMagic(sealedHead) || !SealedMagic.IsKnownVersion(sealedHead))
            {
                report.Add(CheckResult.Finding(Catalogue.DataNotSealed, $"{where} is not a sealed object of a known version", At(path)));
                return;
            }

            // One finding per file: after a bad frame the rest of the segment says nothing new.
            if (!CheckHeader(report, store, path, sealedHead, where))
            {
                return;
            }

            offset += 4 + frameLength;
        }
    }

    /// <summary>Parses the header; a well-formed one is added to the store's summary. False after a finding.</summary>
    private static bool CheckHeader(Report report, StoreSummary store, string path, ReadOnlySpan<byte> sealedObject, string? where)
    {
        var header = SealedHeader.Parse(sealedObject);
        string prefix = where is null ? string.Empty : where + ": ";
        switch (header.Problem)
        {
            case SealedHeader.Problem.None:
                store.Add(header);
                return true;
            case SealedHeader.Problem.NoRecipient:
                store.Add(header);
                report.Add(CheckResult.Finding(Catalogue.DataNoRecipient, $"{prefix}{header.KindName} of tenant {header.Tenant}: {header.Detail}", At(path)));
                return false;
            default:
                report.Add(CheckResult.Finding(Catalogue.DataNotSealed, $"{prefix}sealed header is {(header.Problem == SealedHeader.Problem.Truncated ? "truncated" : "malformed")}: {header.Detail}", At(path)));
                return false;
        }
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

    private sealed class StoreSummary(string root)
    {
        private readonly SortedSet<string> _tenants = new(StringComparer.Ordinal);
        private readonly SortedDictionary<string, int> _keyIds = new(StringComparer.Ordinal);

        public string Root { get; } = root;

        public int Objects { get; private set; }

        public void Add(SealedHeader.Result header)
        {
            Objects++;
            _tenants.Add(header.Tenant);
            foreach (string keyId in header.KeyIds ?? [])
            {
                _keyIds[keyId] = _keyIds.GetValueOrDefault(keyId) + 1;
            }
        }

        /// <summary>The summary line: how many objects, which tenants, and each recipient key id with the
        /// number of objects sealed to it (an id on fewer objects than the total is a key added or dropped).</summary>
        public string Describe() =>
            $"store {Root}: {Objects} sealed object(s), tenant(s) {string.Join(", ", _tenants)}; recipient key ids: " +
            (_keyIds.Count == 0 ? "none" : string.Join(", ", _keyIds.Select(k => $"{k.Key} ({k.Value})")));
    }
}
