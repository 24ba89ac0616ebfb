using System.Runtime.InteropServices;

namespace TraceSeal.Storage;

/// <summary>A path the collector refuses to use: the message names the path, what is wrong and the fix.</summary>
public sealed class UnsafePathException(string message) : IOException(message);

/// <summary>
/// Start-up checks of the paths the collector writes to or trusts — store and queue directories, the queue key,
/// recipient and TLS key files (issue 14). A directory or file another local user owns, or that group or other
/// may write, lets that user swap what the collector writes, reads or seals to; a key file that is a symbolic link
/// can be pointed elsewhere by whoever owns the link's directory. One implementation, called once per path at
/// start; every message is one line: the config key, the path, what is wrong, the command that fixes it.
/// </summary>
/// <remarks>
/// <para><b>Owner.</b> The path must belong to the user the collector runs as, or to root (root can do anything
/// anyway; packages and kubelet-mounted Secrets create root-owned files the collector only reads).</para>
/// <para><b>Mode.</b> No write permission for group or other (<c>chmod go-w</c>). A directory that is
/// group/other-writable with the sticky bit (<c>/tmp</c>) is still refused: the store must be its own directory.</para>
/// <para><b>Symbolic links</b> are refused for key files the collector itself owns and creates (the queue key,
/// <see cref="CheckOwnedKeyFile"/>). Files mounted by an orchestrator (TLS certificates and keys, recipient keys
/// from Kubernetes Secrets, which are symlinks through <c>..data</c>) are checked at their target
/// (<see cref="CheckTrustedFile"/>), and their hot reload is left alone.</para>
/// <para>Windows has no such modes; the checks pass there. A path that does not exist yet passes: the collector
/// creates it itself, 0700 / 0600.</para>
/// </remarks>
public static class PathSafety
{
    private const uint Root = 0;
    private const int GroupOrOtherWrite = 0b000_010_010; // 0022
    private const int FileTypeMask = 0xF000;
    private const int SymlinkType = 0xA000;

    /// <summary>A directory the collector writes (sealed store, sending queue).</summary>
    public static void CheckDirectory(string path, string key) => Check(path, key, directory: true, followLinks: true, refuseLink: false);

    /// <summary>A private key file the collector creates and owns (the queue key): not a symlink, owner, mode.</summary>
    public static void CheckOwnedKeyFile(string path, string key) => Check(path, key, directory: false, followLinks: false, refuseLink: true);

    /// <summary>A file the collector trusts but may not own (TLS key, recipient key): owner and mode of its target.</summary>
    public static void CheckTrustedFile(string path, string key) => Check(path, key, directory: false, followLinks: true, refuseLink: false);

    private static void Check(string path, string key, bool directory, bool followLinks, bool refuseLink)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        string full = Path.GetFullPath(path);
        if (!TryStat(full, followLinks, out Status status))
        {
            return; // absent: the collector creates it with its own modes
        }

        if ((status.Mode & FileTypeMask) == SymlinkType && refuseLink)
        {
            throw new UnsafePathException($"{key}: {full} is a symbolic link; a key file the collector owns must be a regular file (a link can be pointed at another file by whoever owns its directory): replace it with the file itself (cp --remove-destination \"$(readlink -f {full})\" {full})");
        }

        uint self = GetEUid();
        if (status.Uid != self && status.Uid != Root)
        {
            throw new UnsafePathException($"{key}: {full} is owned by uid {status.Uid}, not by the collector's user (uid {self}) or root; that user could replace what the collector {(directory ? "writes there" : "reads")}: chown {self} {full}");
        }

        if ((status.Mode & GroupOrOtherWrite) != 0)
        {
            string mode = Convert.ToString(status.Mode & 0xFFF, 8).PadLeft(4, '0');
            throw new UnsafePathException($"{key}: {full} is writable by {((status.Mode & 0b000_000_010) != 0 ? "other users" : "its group")} (mode {mode}); anyone who can write it could {(directory ? "replace or delete what the collector writes there" : "replace the key the collector uses")}: chmod go-w {full}");
        }
    }

    private static bool TryStat(string path, bool followLinks, out Status status)
    {
        // System.Native's FileStatus starts Flags, Mode, Uid, Gid (int32 each); the rest is larger than we read,
        // so the buffer is generous.
        Span<byte> buffer = stackalloc byte[512];
        int rc = followLinks ? SystemNativeStat(path, ref MemoryMarshal.GetReference(buffer)) : SystemNativeLStat(path, ref MemoryMarshal.GetReference(buffer));
        if (rc != 0)
        {
            status = default;
            return false;
        }

        status = new Status(
            MemoryMarshal.Read<int>(buffer[4..]),
            MemoryMarshal.Read<uint>(buffer[8..]));
        return true;
    }

    private static uint GetEUid() => SystemNativeGetEUid();

    private readonly record struct Status(int Mode, uint Uid);

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat", CharSet = CharSet.Ansi, SetLastError = true)]
    private static extern int SystemNativeStat(string path, ref byte status);

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_LStat", CharSet = CharSet.Ansi, SetLastError = true)]
    private static extern int SystemNativeLStat(string path, ref byte status);

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_GetEUid")]
    private static extern uint SystemNativeGetEUid();
}
