using System.Diagnostics;

namespace TraceSeal.Tests.Shared;

/// <summary>
/// A small tmpfs mounted over a directory, so a test can make the disk full and free it again. Needs the right to
/// mount (root with CAP_SYS_ADMIN; CI runs the tests as root): <see cref="TmpfsFactAttribute"/> skips otherwise.
/// </summary>
internal sealed class Tmpfs : IDisposable
{
    private const string FillerName = "filler.bin";
    private bool _mounted;

    private Tmpfs(string path)
    {
        Path = path;
    }

    public string Path { get; }

    /// <summary>The file that takes every free byte while the disk is full (in the tmpfs root, outside wal/ and blocks/).</summary>
    public string FillerPath => System.IO.Path.Combine(Path, FillerName);

    public long FreeBytes => new DriveInfo(Path).AvailableFreeSpace;

    /// <summary>Mounts a tmpfs of <paramref name="bytes"/> (mode 0700, like a store directory) over <paramref name="path"/>, created if missing.</summary>
    public static Tmpfs Mount(string path, long bytes)
    {
        Directory.CreateDirectory(path);
        var tmpfs = new Tmpfs(path);
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={bytes},mode=0700", "tmpfs", path);
        if (code != 0)
        {
            throw new InvalidOperationException($"mount -t tmpfs over {path} failed ({code}): {output}");
        }

        tmpfs._mounted = true;
        return tmpfs;
    }

    /// <summary>Writes a filler file until the tmpfs refuses with ENOSPC; returns the bytes it took.</summary>
    public long Fill()
    {
        var chunk = new byte[64 * 1024];
        Random.Shared.NextBytes(chunk);
        long written = 0;
        using var filler = new FileStream(FillerPath, new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, BufferSize = 0 });
        try
        {
            while (true)
            {
                filler.Write(chunk);
                written += chunk.Length;
            }
        }
        catch (IOException)
        {
            // ENOSPC: the expected end of the loop. A tmpfs hands out whole pages, so none is left now.
        }

        if (FreeBytes != 0)
        {
            throw new InvalidOperationException($"the filler stopped with {FreeBytes} bytes still free on {Path}");
        }

        return written;
    }

    /// <summary>Deletes the filler: the space comes back at once.</summary>
    public void Free() => File.Delete(FillerPath);

    public void Dispose()
    {
        if (!_mounted)
        {
            return;
        }

        var (code, _) = Run("umount", Path);
        if (code != 0)
        {
            // Something still holds a file open (a failed test's exporter): detach it rather than leak the mount.
            Run("umount", "-l", Path);
        }

        _mounted = false;
    }

    /// <summary>Null when a tmpfs can be mounted here, else why not (the skip reason).</summary>
    public static string? WhyNotMountable => Probe.Value;

    private static readonly Lazy<string?> Probe = new(() =>
    {
        if (!OperatingSystem.IsLinux())
        {
            return "tmpfs disk-full tests need Linux";
        }

        var dir = Directory.CreateTempSubdirectory("traceseal-tmpfs-probe-").FullName;
        try
        {
            var (code, output) = Run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir);
            if (code != 0)
            {
                return $"cannot mount a tmpfs (needs root with CAP_SYS_ADMIN, as in CI): mount exited {code}: {output.Trim()}";
            }

            Run("umount", dir);
            return null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return $"cannot mount a tmpfs: {e.Message}";
        }
        finally
        {
            try
            {
                Directory.Delete(dir);
            }
            catch (IOException)
            {
            }
        }
    });

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr);
    }
}

/// <summary>xunit 2 has no runtime skip; a Fact whose Skip is set at discovery time is the idiom.</summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    public TmpfsFactAttribute()
    {
        if (Tmpfs.WhyNotMountable is { } reason)
        {
            Skip = reason;
        }
    }
}
