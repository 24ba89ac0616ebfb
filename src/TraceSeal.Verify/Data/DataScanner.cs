using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Data;

/// <summary>
/// `verify data DIR`: at rest, every file must be sealed, none may hold plaintext OTLP, and modes must be
/// private. Symbolic links are not followed (a link out of the store is reported, not scanned).
/// Not done yet: parsing the sealed header (recipient count), s3:// stores.
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
                CheckContent(report, path, info.Length);
            }
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

    private static void CheckContent(Report report, string path, long length)
    {
        if (length == 0)
        {
            return; // nothing to leak; writers create files before the first record
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
            }

            return;
        }

        if (PlaintextOtlp.Detect(content, out string what))
        {
            report.Add(CheckResult.Finding(Catalogue.DataPlaintextOtlp, $"holds {what} in plaintext", At(path)));
            return;
        }

        report.Add(CheckResult.Finding(Catalogue.DataNotSealed, "not a sealed object (no TSEAL magic)", At(path)));
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
}
