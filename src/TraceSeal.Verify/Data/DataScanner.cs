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

        if (path.EndsWith(".wal", StringComparison.Ordinal) || path.EndsWith(".walseg", StringComparison.Ordinal))
        {
            CheckWalFrames(report, path, length);
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

    /// <summary>
    /// A WAL segment (live `.wal` or recovered `.walseg`) is a run of frames `[u32 BE length][sealed object]`
    /// (docs/format.md §12): every frame must be a sealed object. A frame that runs past the end of the file is
    /// a torn tail the writer cuts at its next start, not plaintext, so it is not a finding.
    /// </summary>
    private static void CheckWalFrames(Report report, string path, long length)
    {
        using var stream = File.OpenRead(path);
        Span<byte> lengthPrefix = stackalloc byte[4];
        Span<byte> head = stackalloc byte[SealedMagic.PrefixLength];
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

            if (frameLength < head.Length)
            {
                report.Add(CheckResult.Finding(Catalogue.DataNotSealed, $"WAL frame {frame} at offset {offset} is not a sealed object of a known version", At(path)));
                return;
            }

            stream.ReadExactly(head);
            if (!SealedMagic.HasMagic(head) || !SealedMagic.IsKnownVersion(head))
            {
                report.Add(CheckResult.Finding(Catalogue.DataNotSealed, $"WAL frame {frame} at offset {offset} is not a sealed object of a known version", At(path)));
                return;
            }

            offset += 4 + frameLength;
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
}
