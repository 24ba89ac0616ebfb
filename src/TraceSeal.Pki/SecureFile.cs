using System.Text;
using TraceSeal.Sealing.Files;

namespace TraceSeal.Pki;

/// <summary>File writes whose permissions are right from the first byte (no chmod afterwards, which
/// would leave a window where a key is world-readable).</summary>
internal static class SecureFile
{
    public const UnixFileMode PrivateFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode PublicFileMode = PrivateFileMode | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    public const UnixFileMode PrivateDirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Creates the directory 0700 if absent; an existing directory keeps its mode (it is the user's).</summary>
    public static void EnsureDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, PrivateDirectoryMode);
        }
    }

    /// <summary>Writes to a new temporary file next to the target (mode <paramref name="mode"/> from its first byte), then
    /// renames over it (AtomicFile.Replace): readers never see a half-written file, and a symlink at the target is
    /// replaced rather than followed.</summary>
    public static void Write(string path, string text, UnixFileMode mode)
    {
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full) ?? throw new ArgumentException($"no directory in path {path}", nameof(path));
        EnsureDirectory(directory);
        AtomicFile.Replace(directory, Path.GetFileName(full), Encoding.ASCII.GetBytes(text), mode);
    }
}
