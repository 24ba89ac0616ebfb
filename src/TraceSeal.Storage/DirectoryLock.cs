using TraceSeal.Storage.Format;

namespace TraceSeal.Storage;

/// <summary>
/// An exclusive lock file that keeps two writers out of one directory (a sealed store, a sending queue, or a
/// rewrap against a store). FileShare.None is flock(LOCK_EX) on Unix, and the kernel drops it when the process
/// dies, so a kill -9 never leaves a stale lock behind.
/// </summary>
internal static class DirectoryLock
{
    /// <summary>The lock held open, or null when another process holds it (callers say who and what to do).</summary>
    public static FileStream? TryTake(string lockPath)
    {
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = StoreFormat.FileMode;
        }

        try
        {
            return new FileStream(lockPath, options);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
