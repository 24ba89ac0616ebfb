using System.Runtime.InteropServices;

namespace TraceSeal.Sealing.Files;

/// <summary>
/// fsync of a directory, so that a created, renamed or deleted entry survives power loss. .NET has no API
/// for it (File.OpenHandle refuses directories on Unix), so this calls libc open/fsync/close. On Windows it
/// is a no-op: NTFS journals metadata and a directory cannot be flushed through this API.
/// </summary>
/// <remarks>Public for the reason given on <see cref="AtomicFile"/>.</remarks>
public static class DirectorySync
{
    private const int ORdOnly = 0;

    public static void Fsync(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        int fd = NativeMethods.open(directory, ORdOnly);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {directory} to fsync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (NativeMethods.fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = NativeMethods.close(fd);
        }
    }

    /// <summary>Creates <paramref name="directory"/> and any missing parents below <paramref name="root"/> (mode 0700), fsyncing each parent that gained an entry.</summary>
    public static void EnsureDirectory(string root, string directory, bool fsync)
    {
        if (Directory.Exists(directory))
        {
            return;
        }

        var parent = Path.GetDirectoryName(directory)!;
        if (!string.Equals(Path.TrimEndingDirectorySeparator(parent), Path.TrimEndingDirectorySeparator(root), StringComparison.Ordinal))
        {
            EnsureDirectory(root, parent, fsync);
        }

        CreatePrivate(directory);
        if (fsync)
        {
            Fsync(parent);
        }
    }

    public static void CreatePrivate(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, AtomicFile.PrivateDirectoryMode);
        }
    }

#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe blocks for the string; three calls at block-cut rate do not matter.
    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);
    }
#pragma warning restore SYSLIB1054
}
