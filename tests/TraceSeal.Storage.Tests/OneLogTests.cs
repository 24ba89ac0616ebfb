using System.Text.RegularExpressions;

namespace TraceSeal.Storage.Tests;

/// <summary>
/// Issue 10, "Done when: one log implementation in the tree", checked on the source tree itself: no project compiles
/// another project's source (the Query project once compiled the Collector's storage files as linked source), nothing
/// in src/ or bench/ reaches into TraceSeal by reflection (WalBench once did), and no frame walk is written by hand
/// outside the one scanner (src/TraceSeal.Storage/Log) and the cipher that writes the frames (src/TraceSeal.Sealing).
/// </summary>
public sealed partial class OneLogTests
{
    private static readonly string Root = FindRoot();

    [Fact]
    public void no_project_compiles_source_files_of_src_as_linked_source()
    {
        var linked = new List<string>();
        foreach (string project in SourceFiles("*.csproj", "src", "bench", "tests"))
        {
            foreach (Match include in CompileInclude().Matches(File.ReadAllText(project)))
            {
                string target = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, include.Groups[1].Value.Replace('\\', '/')));
                if (target.StartsWith(Path.Combine(Root, "src") + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                {
                    linked.Add($"{Relative(project)} compiles {Relative(target)}");
                }
            }
        }

        Assert.Empty(linked);
    }

    [Fact]
    public void nothing_in_src_or_bench_reaches_into_non_public_members_by_reflection()
    {
        // CountingProcessors reads the OpenTelemetry SDK's own BatchExportProcessor.DroppedCount (not TraceSeal code).
        string[] allowed = [Path.Combine("src", "TraceSeal.OpenTelemetry", "Pipeline", "CountingProcessors.cs")];
        var found = SourceFiles("*.cs", "src", "bench")
            .Where(f => !allowed.Contains(Relative(f)))
            .Where(f => File.ReadAllText(f) is var text && (text.Contains("BindingFlags.NonPublic", StringComparison.Ordinal) || text.Contains("UnsafeAccessor", StringComparison.Ordinal)))
            .Select(Relative)
            .ToList();

        Assert.Empty(found);
    }

    [Fact]
    public void only_the_storage_log_and_the_cipher_touch_a_sealed_frames_length_prefix()
    {
        // A hand-written `[len][sealed]` walk needs the prefix's size and a big-endian read of it; LogScan and LogReader
        // are where that lives. Others locate frames through LogScan and open them through LogReader.
        string[] owners = [Path.Combine("src", "TraceSeal.Storage", "Log") + Path.DirectorySeparatorChar, Path.Combine("src", "TraceSeal.Sealing") + Path.DirectorySeparatorChar];
        var walks = new List<string>();
        foreach (string file in SourceFiles("*.cs", "src", "bench"))
        {
            string relative = Relative(file);
            if (owners.Any(o => relative.StartsWith(o, StringComparison.Ordinal)))
            {
                continue;
            }

            string text = File.ReadAllText(file);
            if (text.Contains("LogFrameLengthPrefix", StringComparison.Ordinal))
            {
                walks.Add($"{relative} uses FormatConstants.LogFrameLengthPrefix");
            }

            if (text.Contains("LogScan.PrefixLength", StringComparison.Ordinal) && BigEndianRead().IsMatch(text))
            {
                walks.Add($"{relative} reads a big-endian length next to LogScan.PrefixLength");
            }
        }

        Assert.Empty(walks);
    }

    [Fact]
    public void one_group_commit_writer_opens_sealed_log_segments()
    {
        var writers = SourceFiles("*.cs", "src")
            .Where(f => File.ReadAllText(f).Contains("new LogSegmentWriter(", StringComparison.Ordinal))
            .Select(Relative)
            .ToList();

        Assert.Single(writers);
    }

    [Fact]
    public void the_sdk_disk_buffer_writes_files_and_keys_only_through_the_shared_pieces()
    {
        // The SDK add-on's buffer once had its own temp file + fsync + rename and its own key file handling. It uses
        // Sealing/Files (AtomicFile, DirectorySync) and Sealing's PrivateKeyFile, the collector's implementations; the
        // only rename left is the quarantine of a bad file (to NAME.bad, no new content).
        string[] markers = ["Flush(flushToDisk", "UnixCreateMode", "FileMode.CreateNew", "KeyFiles.", "ECDiffieHellman", ".tmp\""];
        var found = new List<string>();
        foreach (string file in SourceFiles("*.cs", Path.Combine("src", "TraceSeal.OpenTelemetry")))
        {
            string text = File.ReadAllText(file);
            found.AddRange(markers.Where(m => text.Contains(m, StringComparison.Ordinal)).Select(m => $"{Relative(file)} has {m}"));
        }

        Assert.Empty(found);
    }

    // TenantStore matches the text without writing a file atomically: a disk probe (written, fsync'd, deleted) and a
    // segment's move into blocks/ (a rename of a log already durable). Anything else is a hand-written atomic write.
    [Fact]
    public void only_sealing_files_writes_a_temp_file_fsyncs_and_renames_it()
    {
        string owner = Path.Combine("src", "TraceSeal.Sealing", "Files") + Path.DirectorySeparatorChar;
        var found = SourceFiles("*.cs", "src")
            .Where(f => !Relative(f).StartsWith(owner, StringComparison.Ordinal))
            .Where(f => Relative(f) != Path.Combine("src", "TraceSeal.Collector", "Storage", "Wal", "TenantStore.cs"))
            .Where(f => File.ReadAllText(f) is var text && text.Contains("Flush(flushToDisk", StringComparison.Ordinal) && text.Contains("File.Move(", StringComparison.Ordinal))
            .Select(Relative)
            .ToList();

        Assert.Empty(found);
    }

    internal static IEnumerable<string> SourceFiles(string pattern, params string[] top) =>
        top.Select(t => Path.Combine(Root, t))
            .Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, pattern, SearchOption.AllDirectories))
            .Where(f => !Relative(f).Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj" or "node_modules"));

    internal static string Relative(string path) => Path.GetRelativePath(Root, path);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TraceSeal.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no TraceSeal.sln above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex("""<Compile\s+Include="([^"]+)"[^>]*\bLink=""")]
    private static partial Regex CompileInclude();

    [GeneratedRegex(@"BinaryPrimitives\.Read(U?Int32|U?Int64)BigEndian")]
    private static partial Regex BigEndianRead();
}
