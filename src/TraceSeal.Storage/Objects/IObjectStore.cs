namespace TraceSeal.Storage.Objects;

/// <summary>One listed object: its key relative to the store root ('/'-separated), its size, when it was written.</summary>
internal readonly record struct ObjectEntry(string Key, long Size, DateTimeOffset LastModified);

/// <summary>
/// Where sealed blocks, indexes and recovered segments live: the filesystem (<see cref="FileSystemObjectStore"/>)
/// or S3-compatible object storage (<see cref="S3ObjectStore"/>). Keys are the relative layout of
/// docs/format.md §12.1 (`blocks/TENANT/yyyy/MM/dd/HH/ID.block`), so both stores hold the same names; keys
/// carry nothing sensitive (StoreFormat.cs invariant 2). Compiled into the collector (which only puts,
/// lists and deletes) and TraceSeal.Query (which lists and gets) as a linked source file.
/// </summary>
internal interface IObjectStore
{
    /// <summary>The name an error or log message gives the object: a full path, or s3://BUCKET/PREFIX/KEY.</summary>
    string Describe(string key);

    /// <summary>Stores the whole object; a reader sees all of it or nothing.</summary>
    Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>The object (or its first <paramref name="firstBytes"/> bytes); null when there is no such object.</summary>
    Task<byte[]?> GetAsync(string key, int? firstBytes, CancellationToken cancellationToken);

    /// <summary>
    /// Bytes [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="count"/>) of the object, fewer at its
    /// end; null when there is no such object. What a reader uses to open one frame of a block (docs/format.md §14).
    /// A store that cannot read a range gets the whole object and cuts it (this default); both stores here read ranges.
    /// </summary>
    async Task<byte[]?> GetRangeAsync(string key, long offset, int count, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var all = await GetAsync(key, firstBytes: null, cancellationToken).ConfigureAwait(false);
        return all is null ? null : offset >= all.Length ? [] : all.AsSpan((int)offset, (int)Math.Min(count, all.Length - offset)).ToArray();
    }

    /// <summary>Every object whose key starts with <paramref name="prefix"/> (a '/'-terminated folder), sorted by key (ordinal).</summary>
    Task<IReadOnlyList<ObjectEntry>> ListAsync(string prefix, CancellationToken cancellationToken);

    Task DeleteAsync(string key, CancellationToken cancellationToken);
}

/// <summary>Checks shared by the stores: a key is a relative '/'-path that cannot climb out of the store root.</summary>
internal static class ObjectKeys
{
    public static void Validate(string key, bool folder = false)
    {
        ArgumentNullException.ThrowIfNull(key);
        var body = folder && key.EndsWith('/') ? key[..^1] : key;
        if (body.Length == 0 && folder)
        {
            return;
        }

        foreach (var part in body.Split('/'))
        {
            if (part.Length == 0 || part is "." or ".." || part.Contains('\\', StringComparison.Ordinal) || part.Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException($"\"{key}\" is not a valid object key", nameof(key));
            }
        }
    }
}
