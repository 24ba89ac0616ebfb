using System.Security.Cryptography;

namespace TraceSeal.Sealing.Files;

/// <summary>
/// Write-then-publish: a temporary file in the same directory (created 0600), write, fsync, rename to NAME,
/// fsync the directory. A reader sees the whole object or nothing; a crash leaves at most a <c>.tmp</c>,
/// which the next start deletes and readers ignore.
/// </summary>
/// <remarks>
/// The one implementation for the sealed store, the collector's WAL and queues, the CLI and the SDK add-on's disk
/// buffer. It lives here, in the project every one of them already references (the SDK add-on references only
/// this one), and is public for that reason: the Storage project brings the S3 client and the OTLP types, which an
/// application exporting its telemetry must not have to carry.
/// </remarks>
public static class AtomicFile
{
    /// <summary>What a file being written is called until it is whole (docs/format.md: readers skip it, starts delete it).</summary>
    public const string TempExtension = ".tmp";

    /// <summary>0600: every file TraceSeal writes holds sealed data, a cursor or a key, so it is the owner's alone.</summary>
    public const UnixFileMode PrivateFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>0700, the directories that hold such files.</summary>
    public const UnixFileMode PrivateDirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Writes the new file NAME through <c>NAME.tmp</c> (an existing NAME is an error); throws the I/O error, leaving no temp file.</summary>
    public static void Write(string directory, string name, ReadOnlySpan<byte> data)
    {
        var final = Path.Combine(directory, name);
        var temp = final + TempExtension;
        File.Delete(temp);
        WriteNew(temp, data);
        try
        {
            File.Move(temp, final, overwrite: false);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        DirectorySync.Fsync(directory);
    }

    /// <summary>
    /// Creates NAME with <paramref name="data"/> unless it exists; false when it does (another writer, maybe
    /// another process, created it first, and that file is kept). The temporary name is random, so concurrent
    /// creators of one name never write into each other's file.
    /// </summary>
    public static bool TryCreate(string directory, string name, ReadOnlySpan<byte> data)
    {
        var final = Path.Combine(directory, name);
        var temp = Path.Combine(directory, "." + name + "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)) + TempExtension);
        WriteNew(temp, data);
        try
        {
            File.Move(temp, final, overwrite: false);
        }
        catch (IOException) when (File.Exists(final))
        {
            TryDelete(temp);
            return false;
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        DirectorySync.Fsync(directory);
        return true;
    }

    /// <summary>
    /// Writes NAME whether or not it exists: through <c>NAME.tmp</c> (mode <paramref name="mode"/> from the first byte),
    /// fsync, rename over NAME, fsync the directory. Readers see the old file or the new one, never half of one; a
    /// symlink at NAME is replaced, not followed. For files that change in place (cursors, rewrapped headers,
    /// certificates); single writer per NAME. Throws the I/O error, leaving no temp file.
    /// </summary>
    public static void Replace(string directory, string name, ReadOnlySpan<byte> data, UnixFileMode mode = PrivateFileMode)
    {
        var final = Path.Combine(directory, name);
        var temp = final + TempExtension;
        File.Delete(temp);
        WriteNew(temp, data, mode);
        try
        {
            File.Move(temp, final, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        DirectorySync.Fsync(directory);
    }

    /// <summary>Deletes <paramref name="path"/> if it exists; a failure to do so is not an error (cleanup).</summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>A new file with mode 0600 from the first byte (never chmod'ed later).</summary>
    public static FileStream CreatePrivate(string path) => Create(path, PrivateFileMode);

    private static FileStream Create(string path, UnixFileMode mode)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.Read,
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }

        return new FileStream(path, options);
    }

    /// <summary>Writes and fsyncs the new file <paramref name="temp"/>; on any failure it is deleted (a full disk must not also keep half-written temp files, which hold the space).</summary>
    private static void WriteNew(string temp, ReadOnlySpan<byte> data, UnixFileMode mode = PrivateFileMode)
    {
        try
        {
            using var stream = Create(temp, mode);
            stream.Write(data);
            stream.Flush(flushToDisk: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }
}
