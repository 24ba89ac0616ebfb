using TraceSeal.Sealing.Files;
using TraceSeal.Storage;
using TraceSeal.Storage.Format;

namespace TraceSeal.Storage.Objects;

/// <summary>
/// The filesystem store (the default): key = path under <see cref="Root"/>. Put is the atomic write of
/// <see cref="AtomicFile"/> (NAME.tmp 0600, write, fsync, rename, directory fsync) with directories created
/// 0700 and fsync'd; `.tmp` files are never listed. Every operation completes synchronously: the sync
/// methods are what the collector's writer loop calls, the interface methods wrap them.
/// </summary>
internal sealed class FileSystemObjectStore(string root) : IObjectStore
{
    public string Root { get; } = Path.GetFullPath(root);

    public string Describe(string key) => Path.Combine(Root, key.Replace('/', Path.DirectorySeparatorChar));

    public void Put(string key, ReadOnlySpan<byte> data)
    {
        ObjectKeys.Validate(key);
        var path = Describe(key);
        var directory = Path.GetDirectoryName(path)!;
        DirectorySync.EnsureDirectory(Root, directory, fsync: true);
        AtomicFile.Write(directory, Path.GetFileName(path), data);
    }

    // Reads to end of file, which may come sooner than the length said: a live log's zero fill (direct I/O) is cut when
    // the log is closed, perhaps while it is read. What was read is returned.
    public byte[]? Get(string key, int? firstBytes) => GetRange(key, 0, firstBytes ?? int.MaxValue);

    public byte[]? GetRange(string key, long offset, int count)
    {
        ObjectKeys.Validate(key);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        try
        {
            using var handle = File.OpenHandle(Describe(key));
            long length = RandomAccess.GetLength(handle);
            var buffer = new byte[offset >= length ? 0 : (int)Math.Min(count, length - offset)];
            int total = 0;
            for (int n; total < buffer.Length && (n = RandomAccess.Read(handle, buffer.AsSpan(total), offset + total)) > 0;)
            {
                total += n;
            }

            return total == buffer.Length ? buffer : buffer[..total];
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public IReadOnlyList<ObjectEntry> List(string prefix)
    {
        ObjectKeys.Validate(prefix, folder: true);
        var dir = Describe(prefix);
        var list = new List<ObjectEntry>();
        if (!Directory.Exists(dir))
        {
            return list;
        }

        foreach (var file in new DirectoryInfo(dir).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            if (file.Name.EndsWith(StoreFormat.TempExtension, StringComparison.Ordinal))
            {
                continue; // an atomic write in progress or interrupted: not an object
            }

            try
            {
                list.Add(new ObjectEntry(Path.GetRelativePath(Root, file.FullName).Replace(Path.DirectorySeparatorChar, '/'), file.Length, file.LastWriteTimeUtc));
            }
            catch (FileNotFoundException)
            {
                // deleted between enumeration and stat: as if listed a moment later
            }
        }

        list.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return list;
    }

    public void Delete(string key)
    {
        ObjectKeys.Validate(key);
        var path = Describe(key);
        File.Delete(path);
        DirectorySync.Fsync(Path.GetDirectoryName(path)!);
    }

    public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        Put(key, data.Span);
        return Task.CompletedTask;
    }

    public Task<byte[]?> GetAsync(string key, int? firstBytes, CancellationToken cancellationToken) => Task.FromResult(Get(key, firstBytes));

    public Task<byte[]?> GetRangeAsync(string key, long offset, int count, CancellationToken cancellationToken) => Task.FromResult(GetRange(key, offset, count));

    public Task<IReadOnlyList<ObjectEntry>> ListAsync(string prefix, CancellationToken cancellationToken) => Task.FromResult(List(prefix));

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        Delete(key);
        return Task.CompletedTask;
    }
}
