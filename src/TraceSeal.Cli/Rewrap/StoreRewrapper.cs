using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using TraceSeal.Query;
using TraceSeal.Sealing;
using TraceSeal.Sealing.Files;
using TraceSeal.Storage;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;

namespace TraceSeal.Cli.Rewrap;

/// <summary>
/// `traceseal keys rewrap`: gives every sealed object of a filesystem store (blocks, indexes, recovered
/// `.walseg` and live `.wal` segments) exactly a new recipient list, rewriting headers only (docs/format.md §8):
/// payload bytes are copied unchanged, never re-encrypted. A sealed log (v2 segment or block, §14) has one header
/// for the whole file: it is rewrapped once and every frame after it is copied as it is. A v1 segment is frames
/// that are each a sealed object: each frame is rewrapped and its length prefix rewritten.
///
/// Each object is opened in full first, so a corrupted or tampered object is reported (naming it) instead of
/// getting a fresh header; kind, tenant, name and a frame's place in its segment are checked like the reader does.
/// A v2 block's index keeps its frame offsets: readers compare them after the header, whose length rewrap may change.
/// Each file is replaced atomically (temp 0600 in the same directory, fsync, rename, directory fsync), so an
/// interrupted run leaves every file either old or new; a second run skips the objects already done.
///
/// The store's lock is held throughout: a running collector appends to live segments and cuts blocks, and a
/// rewrite racing with that would lose acknowledged frames.
/// </summary>
internal sealed class StoreRewrapper
{
    private readonly string _root;
    private readonly IReadOnlyList<IIdentity> _identities;
    private readonly IReadOnlyList<IRecipient> _recipients;
    private readonly HashSet<string> _targetKeyIds;
    private readonly bool _dryRun;
    private readonly TextWriter _output;
    private readonly TextWriter _error;
    private readonly int _progressEvery;

    public StoreRewrapper(
        string directory,
        IReadOnlyList<IIdentity> identities,
        IReadOnlyList<IRecipient> recipients,
        bool dryRun,
        TextWriter output,
        TextWriter error,
        int progressEvery = 100)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(identities);
        ArgumentNullException.ThrowIfNull(recipients);
        if (identities.Count == 0)
        {
            throw new ArgumentException("--identity: at least one identity is needed to unwrap the file keys");
        }

        if (recipients.Count == 0)
        {
            throw new ArgumentException("--recipient: at least one recipient is needed (an object sealed to nobody could never be opened)");
        }

        _root = Path.GetFullPath(directory);
        _identities = identities;
        _recipients = recipients;
        _targetKeyIds = new HashSet<string>(recipients.Select(r => r.KeyId), StringComparer.Ordinal);
        _dryRun = dryRun;
        _output = output;
        _error = error;
        _progressEvery = Math.Max(1, progressEvery);
    }

    public RewrapSummary Run()
    {
        if (!Directory.Exists(_root))
        {
            throw new DirectoryNotFoundException($"{_root}: no such store directory");
        }

        if (!Directory.Exists(Path.Combine(_root, StoreFormat.WalDir)) && !Directory.Exists(Path.Combine(_root, StoreFormat.BlocksDir)))
        {
            throw new ArgumentException($"--store {_root}: not a sealed store directory (it has neither {StoreFormat.WalDir}/ nor {StoreFormat.BlocksDir}/)");
        }

        using var storeLock = TakeLock(_root);
        var summary = new RewrapSummary { DryRun = _dryRun };
        var files = Directory.GetFiles(_root, "*", SearchOption.AllDirectories);
        Array.Sort(files, StringComparer.Ordinal);
        int done = 0;
        foreach (var path in files)
        {
            ProcessFile(path, summary);
            done++;
            if (done % _progressEvery == 0)
            {
                _output.WriteLine($"rewrap: {done}/{files.Length} files, {summary.Progress()}");
            }
        }

        _output.WriteLine(summary.ToString());
        return summary;
    }

    /// <summary>The same lock the sealed_store exporter takes (FileShare.None is flock(LOCK_EX) on Unix), so neither runs while the other does.</summary>
    private static FileStream TakeLock(string root)
    {
        var path = Path.Combine(root, StoreFormat.LockFile);
        return DirectoryLock.TryTake(path) ?? throw new InvalidOperationException(
            $"{root}: the store is in use ({path} is locked by a running collector or another rewrap); refusing to rewrap, " +
            "because a collector appends to live WAL segments and cuts blocks while it runs. Stop the collector, then run " +
            "`traceseal keys rewrap` again (data acknowledged meanwhile stays in the WAL and is rewrapped too).");
    }

    private void ProcessFile(string path, RewrapSummary summary)
    {
        var relative = Path.GetRelativePath(_root, path);
        var parts = relative.Split(Path.DirectorySeparatorChar);
        if (parts.Length == 1 && parts[0] == StoreFormat.LockFile)
        {
            return;
        }

        var extension = Path.GetExtension(path);
        if (extension == StoreFormat.TempExtension)
        {
            // An atomic write in progress when something crashed: readers ignore it, the collector deletes it at start.
            summary.FilesSkipped++;
            _output.WriteLine($"skip {path}: temporary file of an interrupted write (readers ignore it)");
            return;
        }

        var kind = (parts.Length >= 3 ? parts[0] : null, extension) switch
        {
            (StoreFormat.WalDir, StoreFormat.WalExtension) when parts.Length == 3 => FileKind.LiveSegment,
            (StoreFormat.BlocksDir, StoreFormat.BlockExtension) => FileKind.Block,
            (StoreFormat.BlocksDir, StoreFormat.IndexExtension) => FileKind.Index,
            (StoreFormat.BlocksDir, StoreFormat.SummaryExtension or StoreFormat.ManifestExtension) => FileKind.Index, // sealed objects of kind index (§15)
            (StoreFormat.BlocksDir, StoreFormat.RecoveredExtension) => FileKind.RecoveredSegment,
            _ => FileKind.Unknown,
        };
        if (kind == FileKind.Unknown || !StoreFormat.IsValidTenant(parts[1]))
        {
            summary.FilesSkipped++;
            _output.WriteLine($"skip {path}: not a sealed store object");
            return;
        }

        var tenant = parts[1];
        try
        {
            var bytes = File.ReadAllBytes(path);
            var outcome = kind switch
            {
                FileKind.Index => RewrapSingle(path, bytes, ObjectKind.Index, tenant),
                FileKind.Block when StoreFormat.IsSealedLog(bytes) => RewrapLog(path, bytes, tenant, LogPlace.Block),
                FileKind.Block => RewrapSingle(path, bytes, ObjectKind.Block, tenant),
                _ when StoreFormat.HasSealedMagic(bytes) =>
                    RewrapLog(path, bytes, tenant, kind == FileKind.LiveSegment ? LogPlace.Live : LogPlace.Recovered),
                _ => RewrapSegment(path, bytes, tenant, live: kind == FileKind.LiveSegment),
            };
            summary.ObjectsSkipped += outcome.Unchanged;
            if (outcome.NewBytes is null)
            {
                return;
            }

            if (!_dryRun)
            {
                ReplaceAtomically(path, outcome.NewBytes);
            }

            summary.ObjectsRewrapped += outcome.Rewrapped;
            summary.FilesRewritten++;
            summary.Count(kind);
        }
        catch (Exception e) when (e is StoreIntegrityException or StoreAccessException or IOException or UnauthorizedAccessException)
        {
            summary.Failures.Add(e.Message);
            _error.WriteLine($"error: {e.Message}");
        }
    }

    private Outcome RewrapSingle(string path, byte[] bytes, ObjectKind kind, string tenant)
    {
        var rewrapped = RewrapObject(path, bytes, kind, tenant, where: null, frame: null);
        return rewrapped is null ? new Outcome(null, 0, 1) : new Outcome(rewrapped, 1, 0);
    }

    /// <summary>
    /// A sealed log (v2 `.wal`, `.walseg` or `.block`, docs/format.md §14): its frames are found by the one keyless walk
    /// (<see cref="LogScan"/>) and all opened (<see cref="LogReader"/>, which judges the tail by where the file lies),
    /// then the header alone is rewrapped. A live segment's torn last frame was never acknowledged: it is kept as it
    /// is, for the collector to cut at its next start.
    /// </summary>
    private Outcome RewrapLog(string path, byte[] bytes, string tenant, LogPlace place)
    {
        try
        {
            var scan = LogScan.Scan(bytes);
            if (scan.Tail == LogTail.NoHeader)
            {
                if (place != LogPlace.Live)
                {
                    throw new StoreIntegrityException(path, SealedIntegrityException.Truncated);
                }

                _output.WriteLine($"note {path}: kept a header still being written ({bytes.Length} bytes, nothing in it acknowledged) as it is");
                return new Outcome(null, 0, 0);
            }

            var header = Sealer.ReadHeader(bytes);
            if (header.RecipientKeyIds.Count == _targetKeyIds.Count && header.RecipientKeyIds.All(_targetKeyIds.Contains))
            {
                return new Outcome(null, 0, 1);
            }

            // Every frame opened before the header changes: a tampered frame is reported now, not carried along.
            var records = LogReader.ReadAll(bytes, _identities, place, out var info);
            foreach (var record in records)
            {
                if (MemoryMarshal.TryGetArray(record.Payload, out var frame))
                {
                    CryptographicOperations.ZeroMemory(frame.Array);
                }
            }

            CheckLogPlace(path, info!, tenant, place);
            if (scan.Tail == LogTail.Torn)
            {
                _output.WriteLine($"note {path}: kept an incomplete last frame ({bytes.Length - scan.GoodLength} bytes at offset {scan.GoodLength}, never acknowledged) as it is");
            }

            var rewrapped = Sealer.Rewrap(bytes, _identities, _recipients);
            if (!rewrapped.AsSpan(Sealer.ReadHeader(rewrapped).HeaderLength).SequenceEqual(bytes.AsSpan(header.HeaderLength)))
            {
                throw new InvalidOperationException($"{path}: rewrap changed frame bytes; nothing was written");
            }

            return new Outcome(rewrapped, 1, 0);
        }
        catch (SealedIntegrityException e)
        {
            throw new StoreIntegrityException(path, e.Code);
        }
        catch (NoIdentityMatchException e)
        {
            throw new StoreAccessException(path, e);
        }
    }

    /// <summary>The reader's checks of a sealed log's place: kind wal-segment, tenant, and the name's id = the object id's first 8 bytes.</summary>
    private static void CheckLogPlace(string path, SealedObjectInfo info, string tenant, LogPlace place)
    {
        if (info.ObjectKind != ObjectKind.WalSegment)
        {
            throw new StoreIntegrityException(path, StoreCodes.KindMismatch);
        }

        if (!string.Equals(info.Tenant, tenant, StringComparison.Ordinal))
        {
            throw new StoreIntegrityException(path, StoreCodes.TenantMismatch);
        }

        var stem = Path.GetFileNameWithoutExtension(path);
        string nameId = stem;
        if ((place != LogPlace.Block && !StoreFormat.TryParseLogStem(stem, out _, out nameId))
            || !string.Equals(nameId, StoreFormat.BlockStemFromObjectId(info.ObjectId), StringComparison.Ordinal))
        {
            throw new StoreIntegrityException(path, StoreCodes.NameMismatch);
        }
    }

    /// <summary>A v1 WAL segment: `[u32 BE length][sealed frame]` × n (docs/format.md §12.2); every frame is rewrapped and its length rewritten.</summary>
    private Outcome RewrapSegment(string path, byte[] bytes, string tenant, bool live)
    {
        if (!StoreFormat.TryParseSegmentStem(Path.GetFileNameWithoutExtension(path), out var seq, out var segmentId))
        {
            throw new StoreIntegrityException(path, StoreCodes.SegmentMismatch);
        }

        var scan = LogScan.ScanV1(bytes);
        if (scan.V1TornCode(live) is { } torn)
        {
            throw new StoreIntegrityException(path, torn, $"frame {scan.Frames.Count} at offset {scan.GoodLength}");
        }

        using var output = new MemoryStream(bytes.Length + 4096);
        Span<byte> prefix = stackalloc byte[LogScan.PrefixLength];
        int rewrapped = 0;
        int unchanged = 0;
        foreach (var frame in scan.Frames)
        {
            var sealedFrame = bytes.AsSpan((int)frame.Offset + LogScan.PrefixLength, frame.SealedLength);
            var result = RewrapObject(path, sealedFrame, ObjectKind.WalSegment, tenant, $"frame {frame.Index} at offset {frame.Offset}", (segmentId, seq, frame.Index));
            if (result is null)
            {
                unchanged++;
                output.Write(bytes.AsSpan((int)frame.Offset, LogScan.PrefixLength + frame.SealedLength));
            }
            else
            {
                rewrapped++;
                BinaryPrimitives.WriteUInt32BigEndian(prefix, (uint)result.Length);
                output.Write(prefix);
                output.Write(result);
            }
        }

        if (scan.GoodLength < bytes.Length)
        {
            // A live segment's torn tail: a frame the collector was writing when it stopped, never
            // acknowledged. Kept byte for byte; the collector cuts it at its next start (§12.3).
            output.Write(bytes.AsSpan((int)scan.GoodLength));
            _output.WriteLine($"note {path}: kept an incomplete last frame ({bytes.Length - scan.GoodLength} bytes at offset {scan.GoodLength}, never acknowledged) as it is");
        }

        return new Outcome(rewrapped == 0 ? null : output.ToArray(), rewrapped, unchanged);
    }

    /// <summary>The rewrapped object, or null when it is already sealed to exactly the new recipients.</summary>
    private byte[]? RewrapObject(string path, ReadOnlySpan<byte> sealedObject, ObjectKind kind, string tenant, string? where, (uint Id, ulong Seq, uint Index)? frame)
    {
        try
        {
            var header = Sealer.ReadHeader(sealedObject);
            if (header.RecipientKeyIds.Count == _targetKeyIds.Count && header.RecipientKeyIds.All(_targetKeyIds.Contains))
            {
                return null; // done by an earlier (maybe interrupted) run, or nothing to change
            }

            // Open in full before giving the object a new header: rewrap itself checks only the header MAC
            // (§8), and a tampered payload must be reported now, not carried along under fresh stanzas.
            var plain = Sealer.Open(sealedObject, _identities, out var info);
            try
            {
                CheckPlace(path, info, plain, kind, tenant, where, frame);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plain);
            }

            var rewrapped = Sealer.Rewrap(sealedObject, _identities, _recipients);
            var newHeader = Sealer.ReadHeader(rewrapped);
            if (!rewrapped.AsSpan(newHeader.HeaderLength).SequenceEqual(sealedObject[header.HeaderLength..]))
            {
                // By construction this cannot happen (§8); checked because a silent payload change is the one thing rewrap must never do.
                throw new InvalidOperationException($"{path}{(where is null ? "" : " " + where)}: rewrap changed payload bytes; nothing was written");
            }

            return rewrapped;
        }
        catch (SealedIntegrityException e)
        {
            throw new StoreIntegrityException(path, e.Code, where);
        }
        catch (NoIdentityMatchException e)
        {
            throw new StoreAccessException(where is null ? path : $"{path} {where}", e);
        }
    }

    /// <summary>The reader's checks of §12.6 that need no other file: kind, tenant, and a frame's segment and position.</summary>
    private static void CheckPlace(string path, SealedObjectInfo info, byte[] plain, ObjectKind kind, string tenant, string? where, (uint Id, ulong Seq, uint Index)? frame)
    {
        if (info.ObjectKind != kind)
        {
            throw new StoreIntegrityException(path, StoreCodes.KindMismatch, where);
        }

        if (!string.Equals(info.Tenant, tenant, StringComparison.Ordinal))
        {
            throw new StoreIntegrityException(path, StoreCodes.TenantMismatch, where);
        }

        if (kind == ObjectKind.Block && !string.Equals(Path.GetFileNameWithoutExtension(path), StoreFormat.BlockStemFromObjectId(info.ObjectId), StringComparison.Ordinal))
        {
            throw new StoreIntegrityException(path, StoreCodes.NameMismatch, where);
        }

        if (frame is { } f)
        {
            if (!StoreFormat.TryReadFrameHeader(plain, out var id, out var seq, out var index))
            {
                throw new StoreIntegrityException(path, StoreCodes.FrameMalformed, where);
            }

            if (id != f.Id || seq != f.Seq)
            {
                throw new StoreIntegrityException(path, StoreCodes.SegmentMismatch, where);
            }

            if (index != f.Index)
            {
                throw new StoreIntegrityException(path, StoreCodes.FrameOutOfOrder, where);
            }
        }
    }

    /// <summary>The file is old or new, never half (AtomicFile.Replace: temp 0600, fsync, rename, directory fsync).</summary>
    private static void ReplaceAtomically(string path, byte[] data) =>
        AtomicFile.Replace(Path.GetDirectoryName(path)!, Path.GetFileName(path), data);

    internal enum FileKind
    {
        Unknown,
        LiveSegment,
        RecoveredSegment,
        Block,
        Index,
    }

    private sealed record Outcome(byte[]? NewBytes, int Rewrapped, int Unchanged);

    /// <summary>What a run did; <see cref="Failures"/> holds one message per failed file, each naming the object.</summary>
    internal sealed class RewrapSummary
    {
        public bool DryRun { get; init; }

        public int ObjectsRewrapped { get; set; }

        /// <summary>Objects already sealed to exactly the new recipients (left as they are).</summary>
        public int ObjectsSkipped { get; set; }

        public int FilesRewritten { get; set; }

        /// <summary>`.tmp` files and anything that is not a store object.</summary>
        public int FilesSkipped { get; set; }

        public int Blocks { get; private set; }

        public int Indexes { get; private set; }

        public int RecoveredSegments { get; private set; }

        public int LiveSegments { get; private set; }

        public List<string> Failures { get; } = [];

        internal void Count(FileKind kind)
        {
            switch (kind)
            {
                case FileKind.Block: Blocks++; break;
                case FileKind.Index: Indexes++; break;
                case FileKind.RecoveredSegment: RecoveredSegments++; break;
                case FileKind.LiveSegment: LiveSegments++; break;
                default: break;
            }
        }

        internal string Progress() =>
            $"{ObjectsRewrapped} object(s) {(DryRun ? "to rewrap" : "rewrapped")}, {ObjectsSkipped} skipped, {Failures.Count} failed";

        public override string ToString() =>
            $"{(DryRun ? "dry run, nothing written: would rewrap" : "rewrapped")} {ObjectsRewrapped} object(s) in {FilesRewritten} file(s) " +
            $"({Blocks} block, {Indexes} index, {RecoveredSegments} .walseg, {LiveSegments} .wal); " +
            $"{ObjectsSkipped} object(s) skipped (already sealed to exactly these recipients); " +
            $"{FilesSkipped} file(s) skipped (.tmp or not a store object); {Failures.Count} failed";
    }
}
