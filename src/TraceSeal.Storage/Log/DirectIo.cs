using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace TraceSeal.Storage.Log;

/// <summary>
/// O_DIRECT on an open file (Linux), switched with fcntl(F_SETFL) so the file is opened as every other one. .NET has no
/// FileOptions for it. A file system that does not take direct I/O (tmpfs on older kernels, some FUSE and network file
/// systems) refuses the flag with EINVAL, or a write with EINVAL; callers then write buffered.
/// </summary>
internal static class DirectIo
{
    private const int FGetFl = 3;
    private const int FSetFl = 4;
    private const int EInval = 22;

    // O_DIRECT is 040000 on x86-64 and 0200000 on arm and arm64 (asm-generic vs arch fcntl.h); other architectures: not used.
    private static readonly int ODirect = !OperatingSystem.IsLinux() ? 0 : RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 0x4000,
        Architecture.Arm64 or Architecture.Arm => 0x10000,
        _ => 0,
    };

    /// <summary>Test hook and escape hatch: TRACESEAL_DIRECT_IO=0 keeps every log write buffered.</summary>
    private static readonly bool Allowed = Environment.GetEnvironmentVariable("TRACESEAL_DIRECT_IO") != "0";

    /// <summary>Turns O_DIRECT on; false (nothing changed) where the platform or file system does not take it.</summary>
    public static bool TryEnable(SafeFileHandle file) => Allowed && ODirect != 0 && Set(file, on: true);

    /// <summary>Turns O_DIRECT off (buffered writes again); false if fcntl failed.</summary>
    public static bool TryDisable(SafeFileHandle file) => ODirect != 0 && Set(file, on: false);

    /// <summary>A write refused for its alignment or by a file system without direct I/O (EINVAL).</summary>
    public static bool IsInvalidArgument(IOException e) => e.HResult == EInval;

    private static bool Set(SafeFileHandle file, bool on)
    {
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            int fd = (int)file.DangerousGetHandle();
            int flags = NativeMethods.fcntl(fd, FGetFl, 0);
            return flags >= 0 && NativeMethods.fcntl(fd, FSetFl, on ? flags | ODirect : flags & ~ODirect) == 0;
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

#pragma warning disable SYSLIB1054 // LibraryImport needs AllowUnsafeBlocks; two calls per segment do not matter.
    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int fcntl(int fd, int cmd, int arg);
    }
#pragma warning restore SYSLIB1054
}
