using TraceSeal.Storage.Format;

namespace TraceSeal.Storage;

/// <summary>
/// Write-then-publish: `NAME.tmp` in the same directory (created 0600), write, fsync, rename to NAME,
/// fsync the directory. A reader sees the whole object or nothing; a crash leaves at most a `.tmp`,
/// which the next start deletes and readers ignore.
/// </summary>
internal static class AtomicFile
{
    public static void Write(string directory, string name, ReadOnlySpan<byte> data)
    {
        var final = Path.Combine(directory, name);
        var temp = final + StoreFormat.TempExtension;
        File.Delete(temp);
        try
        {
            using (var stream = CreatePrivate(temp))
            {
                stream.Write(data);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, final, overwrite: false);
        }
        catch
        {
            // A full disk must not also leave half-written temp files behind (they would hold the space).
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
    public static FileStream CreatePrivate(string path)
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
            options.UnixCreateMode = StoreFormat.FileMode;
        }

        return new FileStream(path, options);
    }
}
