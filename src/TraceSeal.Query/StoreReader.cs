using System.Buffers.Binary;
using TraceSeal.Otlp;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;

namespace TraceSeal.Query;

/// <summary>One record of the store, opened and authenticated.</summary>
/// <param name="ObjectPath">The object it came from (block, recovered segment or live WAL segment).</param>
public readonly record struct StoredRecord(string Tenant, OtlpSignal Signal, ReadOnlyMemory<byte> Payload, string ObjectPath);

/// <summary>
/// Reads a filesystem sealed store with identity keys (layout: docs/format.md §12). Public: the CLI and a
/// query service build on it.
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
    private readonly string _root;
    private readonly IReadOnlyList<IIdentity> _identities;

    public StoreReader(string directory, IReadOnlyList<IIdentity> identities)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(identities);
        _root = Path.GetFullPath(directory);
        _identities = identities;
        if (!Directory.Exists(_root))
        {
            throw new DirectoryNotFoundException($"{_root}: no such store directory");
        }
    }

    /// <summary>Tenants with a WAL or block directory.</summary>
    public IReadOnlyList<string> Tenants()
    {
        var set = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var sub in new[] { StoreFormat.WalDir, StoreFormat.BlocksDir })
        {
            var dir = Path.Combine(_root, sub);
            if (Directory.Exists(dir))
            {
                foreach (var t in Directory.GetDirectories(dir))
                {
                    var name = Path.GetFileName(t);
                    if (StoreFormat.IsValidTenant(name))
                    {
                        set.Add(name);
                    }
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

        // 1. Live WAL first (see the class comment for why the order matters).
        var live = new List<(IndexedSegment Segment, List<StoredRecord> Records)>();
        var walDir = Path.Combine(_root, StoreFormat.WalDir, tenant);
        if (Directory.Exists(walDir))
        {
            var files = Directory.GetFiles(walDir, "*" + StoreFormat.WalExtension);
            Array.Sort(files, StringComparer.Ordinal);
            foreach (var path in files)
            {
                byte[] bytes;
                try
                {
                    bytes = File.ReadAllBytes(path);
                }
                catch (FileNotFoundException)
                {
                    continue; // folded into a block meanwhile; the block listing below finds it
                }

                var records = new List<StoredRecord>();
                var segment = ReadSegment(path, tenant, bytes, live: true, records);
                live.Add((segment, records));
            }
        }

        // 2. Blocks, indexes and recovered segments. Everything is returned in write order: by WAL
        //    sequence number (a block's key is the first segment it folded).
        var sources = new List<(ulong Key, string Path, List<StoredRecord> Records)>();
        var covered = new HashSet<IndexedSegment>();
        var blocksDir = Path.Combine(_root, StoreFormat.BlocksDir, tenant);
        if (Directory.Exists(blocksDir))
        {
            var all = Directory.GetFiles(blocksDir, "*", SearchOption.AllDirectories);
            Array.Sort(all, StringComparer.Ordinal);
            var indexes = new Dictionary<string, BlockIndex>(StringComparer.Ordinal);
            foreach (var path in all)
            {
                if (path.EndsWith(StoreFormat.IndexExtension, StringComparison.Ordinal))
                {
                    var index = ReadIndex(path, tenant);
                    indexes[path[..^StoreFormat.IndexExtension.Length]] = index;
                    foreach (var s in index.Segments)
                    {
                        covered.Add(s);
                    }
                }
            }

            foreach (var path in all)
            {
                if (path.EndsWith(StoreFormat.BlockExtension, StringComparison.Ordinal))
                {
                    indexes.TryGetValue(path[..^StoreFormat.BlockExtension.Length], out var index);
                    var records = new List<StoredRecord>();
                    ReadBlock(path, tenant, index, prune, records);
                    ulong key = index is { Segments.Count: > 0 } ? index.Segments.Min(s => s.Seq) : ulong.MaxValue;
                    sources.Add((key, path, records));
                }
                else if (path.EndsWith(StoreFormat.RecoveredExtension, StringComparison.Ordinal))
                {
                    var records = new List<StoredRecord>();
                    var segment = ReadSegment(path, tenant, File.ReadAllBytes(path), live: false, records);
                    if (!covered.Contains(segment))
                    {
                        sources.Add((segment.Seq, path, records));
                    }
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

    private BlockIndex ReadIndex(string path, string tenant)
    {
        var stem = Path.GetFileNameWithoutExtension(path);
        var blockPath = Path.ChangeExtension(path, StoreFormat.BlockExtension);
        var plain = Open(path, File.ReadAllBytes(path), ObjectKind.Index, tenant, where: null);
        if (!BlockIndex.TryDecode(plain, out var index))
        {
            throw new StoreIntegrityException(path, StoreCodes.IndexMalformed);
        }

        if (!File.Exists(blockPath))
        {
            throw new StoreIntegrityException(path, StoreCodes.BlockMissing);
        }

        // The index must describe exactly this block: same object id (unauthenticated here, authenticated
        // when the block is opened) and length; and the block's name is its object id.
        SealedObjectInfo header;
        var blockLength = new FileInfo(blockPath).Length;
        try
        {
            using var stream = File.OpenRead(blockPath);
            var head = new byte[(int)Math.Min(blockLength, 64 * 1024)];
            stream.ReadExactly(head);
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

        if (!string.Equals(header.ObjectId, Convert.ToHexStringLower(index!.BlockObjectId), StringComparison.Ordinal)
            || blockLength != index.BlockSealedLength)
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

    private void ReadBlock(string path, string tenant, BlockIndex? index, TraceQuery? prune, List<StoredRecord> output)
    {
        HashSet<int>? onlyRecords = null;
        if (prune is not null && index is not null)
        {
            if (!MayMatch(index, prune, out onlyRecords))
            {
                return;
            }
        }

        var sealedBytes = File.ReadAllBytes(path);
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
    private IndexedSegment ReadSegment(string path, string tenant, byte[] bytes, bool live, List<StoredRecord> output)
    {
        var stem = Path.GetFileNameWithoutExtension(path);
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
