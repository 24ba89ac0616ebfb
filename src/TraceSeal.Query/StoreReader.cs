using System.Buffers.Binary;
using TraceSeal.Otlp;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Objects;

namespace TraceSeal.Query;

/// <summary>One record of the store, opened and authenticated.</summary>
/// <param name="ObjectPath">The object it came from (block, recovered segment or live WAL segment): a path, or s3://BUCKET/PREFIX/KEY.</param>
public readonly record struct StoredRecord(string Tenant, OtlpSignal Signal, ReadOnlyMemory<byte> Payload, string ObjectPath);

/// <summary>
/// Reads a sealed store with identity keys (layout: docs/format.md §12): a filesystem store directory, or
/// the blocks a collector uploaded to S3-compatible object storage (<see cref="S3StoreLocation"/>; live WAL
/// segments stay on the collectors' disks and are not visible there). Public: the CLI and a query service
/// build on it.
///
/// Every object read is fully authenticated, and bound to its place (tenant directory, kind, name, index ↔
/// block, frame ↔ segment); any failure throws <see cref="StoreIntegrityException"/> naming the object — it
/// is never skipped. An object no offered identity can open throws <see cref="StoreAccessException"/>.
/// The one thing that is not an error is the last frame of a live WAL segment running past end of file:
/// the writer is still writing it (partial_write), and it was not acknowledged yet.
///
/// Live WAL segments are read before blocks are listed: a segment that disappears meanwhile was folded
/// into a block that the listing then finds. Records of segments an index lists as folded are dropped,
/// so nothing is returned twice.
///
/// Blocks whose index shows they cannot match a query are not decrypted (that is what the index is for):
/// their index is authenticated and must match the block's header and length, but the block's payload is
/// only verified when read. `traceseal verify data` reads everything.
/// </summary>
public sealed class StoreReader
{
    private readonly IObjectStore _store;
    private readonly IReadOnlyList<IIdentity> _identities;

    /// <summary>A filesystem store: sealed_store::directory of a collector without `s3`.</summary>
    public StoreReader(string directory, IReadOnlyList<IIdentity> identities)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(identities);
        var root = Path.GetFullPath(directory);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"{root}: no such store directory");
        }

        _store = new FileSystemObjectStore(root);
        _identities = identities;
        SeesLiveWal = true;
    }

    /// <summary>The blocks, indexes and recovered segments a collector uploaded to S3-compatible object storage.</summary>
    public StoreReader(S3StoreLocation location, IReadOnlyList<IIdentity> identities)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(identities);
        _store = new S3ObjectStore(location.Bucket, location.Prefix, location.Endpoint, location.Region, location.ForcePathStyle, sseKmsKeyId: null);
        _identities = identities;
        SeesLiveWal = false;
    }

    /// <summary>Tests: any object store.</summary>
    internal StoreReader(IObjectStore store, IReadOnlyList<IIdentity> identities, bool seesLiveWal)
    {
        _store = store;
        _identities = identities;
        SeesLiveWal = seesLiveWal;
    }

    /// <summary>
    /// False for object storage: spans acknowledged but not yet cut into a block (at most `block::max_age`,
    /// or longer while uploads fail) are only in the collectors' local WALs and not returned.
    /// </summary>
    public bool SeesLiveWal { get; }

    /// <summary>Tenants with a WAL segment or a block-store object.</summary>
    public IReadOnlyList<string> Tenants()
    {
        var set = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var sub in SeesLiveWal ? new[] { StoreFormat.WalDir, StoreFormat.BlocksDir } : [StoreFormat.BlocksDir])
        {
            foreach (var entry in Wait(_store.ListAsync(sub + "/", CancellationToken.None)))
            {
                var rest = entry.Key.AsSpan(sub.Length + 1);
                int slash = rest.IndexOf('/');
                if (slash > 0 && StoreFormat.IsValidTenant(rest[..slash].ToString()))
                {
                    set.Add(rest[..slash].ToString());
                }
            }
        }

        return [.. set];
    }

    /// <summary>Every record of every signal in a tenant: blocks, recovered segments, then the live WAL.</summary>
    public IReadOnlyList<StoredRecord> ReadRecords(string tenant) => Read(tenant, prune: null);

    /// <summary>Runs a trace query over the store.</summary>
    public QueryResult Query(TraceQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var tenants = query.Tenant is null ? Tenants() : [query.Tenant];
        var matcher = new SpanMatcher(query);
        foreach (var tenant in tenants)
        {
            foreach (var record in Read(tenant, query))
            {
                if (record.Signal == OtlpSignal.Traces)
                {
                    matcher.Add(record);
                }
            }
        }

        return matcher.Result();
    }

    private List<StoredRecord> Read(string tenant, TraceQuery? prune)
    {
        if (!StoreFormat.IsValidTenant(tenant))
        {
            throw new ArgumentException($"invalid tenant name \"{tenant}\"");
        }

        // 1. Live WAL first (see the class comment for why the order matters). Keys, not paths, from here on:
        //    `wal/TENANT/NAME.wal`, `blocks/TENANT/yyyy/MM/dd/HH/NAME.ext` in either store.
        var live = new List<(IndexedSegment Segment, List<StoredRecord> Records)>();
        if (SeesLiveWal)
        {
            foreach (var entry in Wait(_store.ListAsync($"{StoreFormat.WalDir}/{tenant}/", CancellationToken.None)))
            {
                if (!entry.Key.EndsWith(StoreFormat.WalExtension, StringComparison.Ordinal))
                {
                    continue;
                }

                var bytes = Wait(_store.GetAsync(entry.Key, firstBytes: null, CancellationToken.None));
                if (bytes is null)
                {
                    continue; // folded into a block meanwhile; the block listing below finds it
                }

                var records = new List<StoredRecord>();
                var segment = ReadSegment(entry.Key, tenant, bytes, live: true, records);
                live.Add((segment, records));
            }
        }

        // 2. Blocks, indexes and recovered segments. Everything is returned in write order: by WAL
        //    sequence number (a block's key is the first segment it folded).
        var sources = new List<(ulong Key, string Path, List<StoredRecord> Records)>();
        var covered = new HashSet<IndexedSegment>();
        var all = Wait(_store.ListAsync($"{StoreFormat.BlocksDir}/{tenant}/", CancellationToken.None));
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var entry in all)
        {
            sizes[entry.Key] = entry.Size;
        }

        var indexes = new Dictionary<string, BlockIndex>(StringComparer.Ordinal);
        foreach (var entry in all)
        {
            if (entry.Key.EndsWith(StoreFormat.IndexExtension, StringComparison.Ordinal))
            {
                var index = ReadIndex(entry.Key, tenant, sizes);
                indexes[entry.Key[..^StoreFormat.IndexExtension.Length]] = index;
                foreach (var s in index.Segments)
                {
                    covered.Add(s);
                }
            }
        }

        foreach (var entry in all)
        {
            var key = entry.Key;
            if (key.EndsWith(StoreFormat.BlockExtension, StringComparison.Ordinal))
            {
                indexes.TryGetValue(key[..^StoreFormat.BlockExtension.Length], out var index);
                var records = new List<StoredRecord>();
                ReadBlock(key, tenant, index, prune, records);
                ulong order = index is { Segments.Count: > 0 } ? index.Segments.Min(s => s.Seq) : ulong.MaxValue;
                sources.Add((order, _store.Describe(key), records));
            }
            else if (key.EndsWith(StoreFormat.RecoveredExtension, StringComparison.Ordinal))
            {
                var records = new List<StoredRecord>();
                var segment = ReadSegment(key, tenant, Get(key, StoreCodes.BlockMissing), live: false, records);
                if (!covered.Contains(segment))
                {
                    sources.Add((segment.Seq, _store.Describe(key), records));
                }
            }
        }

        foreach (var (segment, records) in live)
        {
            if (!covered.Contains(segment))
            {
                sources.Add((segment.Seq, records.Count > 0 ? records[0].ObjectPath : "", records));
            }
        }

        sources.Sort(static (a, b) => a.Key != b.Key ? a.Key.CompareTo(b.Key) : string.CompareOrdinal(a.Path, b.Path));
        var result = new List<StoredRecord>();
        foreach (var source in sources)
        {
            result.AddRange(source.Records);
        }

        return result;
    }

    private BlockIndex ReadIndex(string key, string tenant, Dictionary<string, long> sizes)
    {
        var path = _store.Describe(key);
        var stem = Path.GetFileNameWithoutExtension(key);
        var blockKey = key[..^StoreFormat.IndexExtension.Length] + StoreFormat.BlockExtension;
        var blockPath = _store.Describe(blockKey);
        var plain = Open(path, Get(key, StoreCodes.BlockMissing), ObjectKind.Index, tenant, where: null);
        if (!BlockIndex.TryDecode(plain, out var index))
        {
            throw new StoreIntegrityException(path, StoreCodes.IndexMalformed);
        }

        // The index must describe exactly this block: same object id (unauthenticated here, authenticated
        // when the block is opened) and length; and the block's name is its object id. Only the block's
        // head is fetched: a block the index rules out is never downloaded in full.
        var head = sizes.TryGetValue(blockKey, out var blockLength) ? Wait(_store.GetAsync(blockKey, 64 * 1024, CancellationToken.None)) : null;
        if (head is null)
        {
            throw new StoreIntegrityException(path, StoreCodes.BlockMissing);
        }

        SealedObjectInfo header;
        try
        {
            header = Sealer.ReadHeader(head);
            if (header.ObjectKind != ObjectKind.Block)
            {
                throw new StoreIntegrityException(blockPath, StoreCodes.KindMismatch);
            }
        }
        catch (SealedIntegrityException e)
        {
            throw new StoreIntegrityException(blockPath, e.Code);
        }

        // The length is compared after the header: `keys rewrap` changes the header (one stanza per recipient)
        // but never the payload, whose length follows from the plaintext length (§5). For a block as written
        // this is the same check as block_sealed_length == file length.
        if (!string.Equals(header.ObjectId, Convert.ToHexStringLower(index!.BlockObjectId), StringComparison.Ordinal)
            || blockLength - header.HeaderLength != SealedPayloadLength(index.BlockPlainLength))
        {
            // Either file may be the one that changed: name the block, say which index disagrees.
            throw new StoreIntegrityException(blockPath, StoreCodes.IndexMismatch, $"(its index {Path.GetFileName(path)} describes another object)");
        }

        if (!string.Equals(stem, StoreFormat.BlockStemFromObjectId(header.ObjectId), StringComparison.Ordinal))
        {
            throw new StoreIntegrityException(blockPath, StoreCodes.NameMismatch);
        }

        return index;
    }

    /// <summary>Payload bytes of a sealed object with this plaintext length: 64 KiB chunks, 16-byte tag each, at least one chunk (docs/format.md §5).</summary>
    private static long SealedPayloadLength(long plainLength)
    {
        const long chunk = 64 * 1024;
        const long tag = 16;
        return plainLength + (tag * Math.Max(1, (plainLength + chunk - 1) / chunk));
    }

    private void ReadBlock(string key, string tenant, BlockIndex? index, TraceQuery? prune, List<StoredRecord> output)
    {
        var path = _store.Describe(key);
        HashSet<int>? onlyRecords = null;
        if (prune is not null && index is not null)
        {
            if (!MayMatch(index, prune, out onlyRecords))
            {
                return;
            }
        }

        var sealedBytes = Get(key, StoreCodes.BlockMissing);
        var plain = Open(path, sealedBytes, ObjectKind.Block, tenant, where: null, out var info);
        if (!string.Equals(Path.GetFileNameWithoutExtension(path), StoreFormat.BlockStemFromObjectId(info.ObjectId), StringComparison.Ordinal))
        {
            throw new StoreIntegrityException(path, StoreCodes.NameMismatch);
        }

        if (index is not null && (plain.Length != index.BlockPlainLength
                                  || !string.Equals(info.ObjectId, Convert.ToHexStringLower(index.BlockObjectId), StringComparison.Ordinal)))
        {
            throw new StoreIntegrityException(path, StoreCodes.IndexMismatch);
        }

        if (plain.Length < 1 || plain[0] != StoreFormat.BlockVersion)
        {
            throw new StoreIntegrityException(path, StoreCodes.RecordMalformed);
        }

        var records = new List<StoredRecord>();
        ParseRecords(path, tenant, plain, 1, records, where: null);
        if (index is not null && index.Records.Count != records.Count)
        {
            throw new StoreIntegrityException(path, StoreCodes.IndexMismatch);
        }

        for (int i = 0; i < records.Count; i++)
        {
            if (onlyRecords is null || onlyRecords.Contains(i))
            {
                output.Add(records[i]);
            }
        }
    }

    /// <summary>Reads a WAL segment (live or recovered) into <paramref name="output"/>; returns its (seq, id) from the name.</summary>
    private IndexedSegment ReadSegment(string key, string tenant, byte[] bytes, bool live, List<StoredRecord> output)
    {
        var path = _store.Describe(key);
        var stem = Path.GetFileNameWithoutExtension(key);
        if (!StoreFormat.TryParseSegmentStem(stem, out var seq, out var segmentId))
        {
            throw new StoreIntegrityException(path, StoreCodes.SegmentMismatch);
        }

        int pos = 0;
        uint frameIndex = 0;
        while (pos < bytes.Length)
        {
            uint length = bytes.Length - pos >= StoreFormat.FrameLengthPrefix ? BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(pos)) : uint.MaxValue;
            if (length == 0 || length > (uint)(bytes.Length - pos - StoreFormat.FrameLengthPrefix) || bytes.Length - pos < StoreFormat.FrameLengthPrefix)
            {
                if (live)
                {
                    break; // partial_write: the writer is still writing this frame; it was not acknowledged
                }

                throw new StoreIntegrityException(path, StoreCodes.TruncatedSegment, $"frame {frameIndex} at offset {pos}");
            }

            var where = $"frame {frameIndex} at offset {pos}";
            var frame = bytes.AsSpan(pos + StoreFormat.FrameLengthPrefix, (int)length);
            var plain = Open(path, frame, ObjectKind.WalSegment, tenant, where);
            if (!StoreFormat.TryReadFrameHeader(plain, out var id, out var frameSeq, out var index))
            {
                throw new StoreIntegrityException(path, StoreCodes.FrameMalformed, where);
            }

            if (id != segmentId || frameSeq != seq)
            {
                throw new StoreIntegrityException(path, StoreCodes.SegmentMismatch, where);
            }

            if (index != frameIndex)
            {
                throw new StoreIntegrityException(path, StoreCodes.FrameOutOfOrder, where);
            }

            ParseRecords(path, tenant, plain, StoreFormat.FrameHeaderSize, output, where);
            pos += StoreFormat.FrameLengthPrefix + (int)length;
            frameIndex++;
        }

        return new IndexedSegment(seq, segmentId);
    }

    private static void ParseRecords(string path, string tenant, byte[] plain, int offset, List<StoredRecord> output, string? where)
    {
        var memory = plain.AsMemory();
        while (offset < plain.Length)
        {
            if (!StoreFormat.TryReadRecord(plain, offset, out var signal, out var payloadOffset, out var payloadLength))
            {
                throw new StoreIntegrityException(path, StoreCodes.RecordMalformed, where);
            }

            output.Add(new StoredRecord(tenant, (OtlpSignal)signal, memory.Slice(payloadOffset, payloadLength), path));
            offset = payloadOffset + payloadLength;
        }
    }

    /// <summary>A listed object; gone by the time it is read (retention, a concurrent delete) is <paramref name="missingCode"/>, never a silent skip.</summary>
    private byte[] Get(string key, string missingCode) =>
        Wait(_store.GetAsync(key, firstBytes: null, CancellationToken.None)) ?? throw new StoreIntegrityException(_store.Describe(key), missingCode);

    /// <summary>
    /// The reader's API is synchronous (the CLI and tests call it); the filesystem store completes
    /// synchronously and the S3 client has no synchronization context to deadlock on, so blocking is safe.
    /// </summary>
    private static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();

    private byte[] Open(string path, ReadOnlySpan<byte> sealedObject, ObjectKind kind, string tenant, string? where) =>
        Open(path, sealedObject, kind, tenant, where, out _);

    private byte[] Open(string path, ReadOnlySpan<byte> sealedObject, ObjectKind kind, string tenant, string? where, out SealedObjectInfo info)
    {
        byte[] plain;
        try
        {
            plain = Sealer.Open(sealedObject, _identities, out info);
        }
        catch (SealedIntegrityException e)
        {
            throw new StoreIntegrityException(path, e.Code, where);
        }
        catch (NoIdentityMatchException e)
        {
            throw new StoreAccessException(where is null ? path : $"{path} {where}", e);
        }

        if (info.ObjectKind != kind)
        {
            throw new StoreIntegrityException(path, StoreCodes.KindMismatch, where);
        }

        if (!string.Equals(info.Tenant, tenant, StringComparison.Ordinal))
        {
            throw new StoreIntegrityException(path, StoreCodes.TenantMismatch, where);
        }

        return plain;
    }

    /// <summary>False when the index proves no span of the block can match; else the records worth reading (null = all).</summary>
    private static bool MayMatch(BlockIndex index, TraceQuery q, out HashSet<int>? records)
    {
        records = null;
        bool anyTraces = false;
        foreach (var r in index.Records)
        {
            anyTraces |= r.Signal == (byte)OtlpSignal.Traces && r.SpanCount > 0;
        }

        if (!anyTraces
            || (q.Service is not null && (index.Flags & BlockIndex.ServicesOverflow) == 0 && !index.Services.Contains(q.Service, StringComparer.Ordinal))
            || (q.SpanName is not null && (index.Flags & BlockIndex.NamesOverflow) == 0 && !index.Names.Contains(q.SpanName, StringComparer.Ordinal))
            || index.MaxEnd < q.FromNano || index.MinStart > q.ToNanoOrMax
            || (q.MinDuration is { } min && index.MaxDuration < (ulong)min.Ticks * 100UL)
            || (q.MaxDuration is { } max && index.MinDuration > (ulong)max.Ticks * 100UL))
        {
            return false;
        }

        if (q.TraceId is { Length: 16 } id)
        {
            var wanted = BinaryPrimitives.ReadUInt128BigEndian(id);
            records = [];
            foreach (var t in index.Traces)
            {
                if (t.TraceId == wanted)
                {
                    records.Add(t.Record);
                }
            }

            return records.Count > 0;
        }

        return true;
    }
}
