// Sealed store layout v1 — the normative description is docs/format.md §12; this file mirrors it.
// One definition in the Storage project, referenced by the collector (writer) and every reader, so the
// two can never drift apart (the lesson of Vector's CRC32 vs CRC32C).
//
// INVARIANTS
//  1. Every byte the store writes is inside a sealed object (docs/format.md §1-§8): WAL frames
//     (kind wal-segment), blocks (kind block), indexes (kind index). Nothing else holds telemetry.
//  2. File names carry only the tenant (directory), time buckets, sequence numbers and random ids —
//     never trace ids, service names or attributes.
//  3. The writer (collector) holds recipient keys only. Everything it must do without reading —
//     cutting a torn WAL tail, moving un-foldable segments aside — works from lengths and
//     unauthenticated headers alone (Sealer.ReadHeader).
//  4. An object is bound to its place: the sealed header carries the tenant (checked against the
//     directory), the kind (checked against the extension); a block's name is the first 8 bytes of its
//     authenticated object id; a WAL frame names its segment (id, seq) and its position in it; an index
//     names the block object id and length it describes. Swapping, moving or reordering is detected.
//  5. A reader distinguishes "the writer is still writing" (partial_write: the last frame of a live
//     segment runs past end of file) from corruption (every other failure, with a snake_case code).
//
// FILES (DIR = sealed_store::directory; directories 0700, files 0600)
//   DIR/wal/<tenant>/<seq:D10>-<segment_id:8 hex>.wal            live WAL segments
//   DIR/blocks/<tenant>/<yyyy>/<MM>/<dd>/<HH>/<id:16 hex>.block   sealed block (records)
//   DIR/blocks/<tenant>/<yyyy>/<MM>/<dd>/<HH>/<id:16 hex>.index   sealed index of that block
//   DIR/blocks/<tenant>/<yyyy>/<MM>/<dd>/<HH>/<seq>-<segid>.walseg a WAL segment recovered after a crash
//   <name>.tmp                                                     an atomic write in progress (ignored)
//   DIR/store.lock                                                 one collector per directory (flock)
//
// WAL SEGMENT FILE (do not reorder)
//   frame × n, frame = [u32 BE sealed_length][sealed object, kind wal-segment, sealed_length bytes]
//
// WAL FRAME PLAINTEXT (do not reorder or add fields; bump FrameVersion instead)
//   0   1   frame_version  0x01
//   1   4   segment_id     the 4 random bytes spelled in the file name
//   5   8   segment_seq    u64 BE, the sequence number in the file name
//   13  4   frame_index    u32 BE, 0, 1, 2, ... in file order
//   17  ..  record × m     (m ≥ 1)
//
// RECORD, version 1 (do not reorder): every record of v1 objects, blocks, the queue, compacted blocks, and of a
// WAL that no forwarder reads (docs/format.md §12.2)
//   0   1   signal   0x00 traces, 0x01 metrics, 0x02 logs
//   1   4   length   u32 BE
//   5   ..  payload  the validated protobuf ExportTraceServiceRequest / ExportMetricsServiceRequest /
//                    ExportLogsServiceRequest exactly as received
//
// RECORD, version 2 (do not reorder or add fields): the WAL of a store that forwarders read (docs/format.md §14.12)
//   0   1   type            0x10 | signal (0x10 traces, 0x11 metrics, 0x12 logs): the high nibble 1 says version 2
//   1   4   length          u32 BE, of the payload
//   5   1   consumer_count  n, 0..255: the forwarders that forward this record (0: none, the store's only)
//   6   8n  consumer ids    ascending, each the first 8 bytes of SHA-256("traceseal/v2/wal-consumer" ‖ 0x00 ‖ exporter id)
//   6+8n .. payload
//
// BLOCK PLAINTEXT (do not reorder)
//   0   1   block_version 0x01
//   1   ..  record × n
//
// INDEX PLAINTEXT (do not reorder or add fields; bump IndexVersion instead). Integers u64/u32/u16 BE.
//   0   4   magic                 "TSIX"
//   4   1   index_version         0x01
//   5   16  block_object_id       object id of the block this index describes
//   21  8   block_sealed_length   bytes of the .block file
//   29  8   block_plain_length    bytes of the block plaintext
//   37  8   min_start_unix_nano   of all spans (0 when there are none)
//   45  8   max_end_unix_nano
//   53  8   min_duration_nano
//   61  8   max_duration_nano
//   69  1   flags                 bit0 services_overflow, bit1 names_overflow (sets incomplete: do not prune)
//   70  4   segment_count S, then S × [u64 seq][4 segment_id]      WAL segments folded into the block
//       4   record_count R,  then R × [u8 signal][u64 offset][u32 length][u32 span_count][u64 min_start][u64 max_end]
//                            (offset of the record's signal byte in the block plaintext)
//       4   service_count,   then × [u16 len][UTF-8]                 distinct resource service.name values
//       4   name_count,      then × [u16 len][UTF-8]                 distinct span names
//       4   trace_count T,   then T × [16 trace_id][u32 record]      sorted by trace id, then record
using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using TraceSeal.Sealing.Files;

namespace TraceSeal.Storage.Format;

/// <summary>Constants, names and codecs of the sealed store layout (header comment above; docs/format.md §12).</summary>
internal static partial class StoreFormat
{
    public const byte FrameVersion = 0x01;
    public const int FrameHeaderSize = 17;
    public const int FrameLengthPrefix = 4;
    public const int RecordHeaderSize = 5;

    /// <summary>The type byte of a version 2 record is this OR its signal (header comment; docs/format.md §14.12).</summary>
    public const byte RecordVersion2 = 0x10;

    /// <summary>A version 2 record names at most this many consumers (its count is one byte).</summary>
    public const int MaxRecordConsumers = byte.MaxValue;

    /// <summary>Bytes of one consumer id in a version 2 record.</summary>
    public const int ConsumerIdSize = 8;

    /// <summary>The domain label a consumer id is hashed under (docs/format.md §14.12).</summary>
    public static ReadOnlySpan<byte> ConsumerIdLabel => "traceseal/v2/wal-consumer"u8;
    public const byte BlockVersion = 0x01;
    public const byte IndexVersion = 0x01;

    /// <summary>Index of a block that is a closed sealed log (§14): records located by frame.</summary>
    public const byte IndexVersion2 = 0x02;

    /// <summary>The version byte of a sealed log's header (docs/format.md §14): a v2 segment, and the block it becomes.</summary>
    public const byte SealedLogVersion = 0x02;
    public static ReadOnlySpan<byte> IndexMagic => "TSIX"u8;
    public const int SegmentIdSize = 4;
    public const int BlockNameBytes = 8;
    public const int MaxIndexedString = ushort.MaxValue;
    public const int MaxIndexedStrings = 4096;

    public const string WalDir = "wal";
    public const string BlocksDir = "blocks";
    public const string LockFile = "store.lock";
    public const string WalExtension = ".wal";
    public const string BlockExtension = ".block";
    public const string IndexExtension = ".index";
    public const string RecoveredExtension = ".walseg";

    /// <summary>A WAL segment's key header for the forwarders reading it (docs/format.md §14.11): `wal/TENANT/SEQ-ID.walkey`.</summary>
    public const string KeyHeaderExtension = ".walkey";

    /// <summary>
    /// `s3`: `wal/TENANT/SEQ-ID.uploaded`, beside a key header: the segment's local copy, kept for a forwarder, is in the
    /// bucket already (docs/format.md §14.11), so a restart does not upload it again. One line: 64 hex digits and `\n`.
    /// </summary>
    public const string UploadedExtension = ".uploaded";

    /// <summary>A block's summary (docs/format.md §15.1), next to its `.block` and `.index`.</summary>
    public const string SummaryExtension = ".summary";

    /// <summary>A bucket manifest (§15.2): `manifest-GENERATION.manifest` in an hour bucket.</summary>
    public const string ManifestExtension = ".manifest";

    /// <summary>
    /// Object storage: collectors write under `collectors/ID/` of the store prefix, each with its own ID (§15.3), so
    /// many collectors share one bucket; readers and compaction cover every root holding a `blocks/` tree.
    /// </summary>
    public const string CollectorsDir = "collectors";

    /// <summary>The file in a collector's store directory that keeps its generated collector id (§15.3).</summary>
    public const string CollectorIdFile = "collector.id";
    public const string TempExtension = AtomicFile.TempExtension;

    public const UnixFileMode DirMode = AtomicFile.PrivateDirectoryMode;
    public const UnixFileMode FileMode = AtomicFile.PrivateFileMode;

    /// <summary>Same rule as the config's tenant names: it is a path component.</summary>
    public static bool IsValidTenant(string tenant) => TenantName().IsMatch(tenant);

    public static string SegmentFileName(ulong seq, uint segmentId) =>
        string.Create(CultureInfo.InvariantCulture, $"{seq:D10}-{segmentId:x8}{WalExtension}");

    /// <summary>
    /// A v2 segment (a sealed log, docs/format.md §14): `SEQ-ID.wal` where ID is the first 8 bytes of the
    /// log's header object id as 16 hex digits — the same stem the segment keeps as a block (`ID.block`).
    /// </summary>
    public static string LogSegmentFileName(ulong seq, string objectIdHex, string extension = WalExtension) =>
        string.Create(CultureInfo.InvariantCulture, $"{seq:D10}-{BlockStemFromObjectId(objectIdHex)}{extension}");

    /// <summary>
    /// The ids (16 hex digits, a block's stem) of a tenant's segments that a forwarder reading the WAL has not passed:
    /// those with a key header (docs/format.md §14.11, "Held while owed"). Nothing but that forwarder removes them.
    /// </summary>
    public static HashSet<string> ForwardHeldIds(string root, string tenant)
    {
        var held = new HashSet<string>(StringComparer.Ordinal);
        var walDir = Path.Combine(root, WalDir, tenant);
        if (Directory.Exists(walDir))
        {
            foreach (var path in Directory.EnumerateFiles(walDir, "*" + KeyHeaderExtension))
            {
                if (TryParseLogStem(Path.GetFileNameWithoutExtension(path), out _, out var id))
                {
                    held.Add(id);
                }
            }
        }

        return held;
    }

    /// <summary>Parses a v2 segment stem `SEQ-ID` (ID 16 hex digits); see <see cref="TryParseSegmentStem"/> for v1's 8.</summary>
    public static bool TryParseLogStem(string stem, out ulong seq, out string id)
    {
        seq = 0;
        id = "";
        var m = LogStem().Match(stem);
        if (!m.Success || !ulong.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out seq))
        {
            return false;
        }

        id = m.Groups[2].Value;
        return true;
    }

    /// <summary>Parses `SEQ-ID` (the stem of a v1 .wal or .walseg name).</summary>
    public static bool TryParseSegmentStem(string stem, out ulong seq, out uint segmentId)
    {
        seq = 0;
        segmentId = 0;
        var m = SegmentStem().Match(stem);
        return m.Success
               && ulong.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out seq)
               && uint.TryParse(m.Groups[2].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out segmentId);
    }

    public static bool IsBlockStem(string stem) => BlockStem().IsMatch(stem);

    /// <summary>
    /// Whether a `.wal`, `.walseg` or `.block` file is a sealed log (v2, docs/format.md §14): it starts with a sealed
    /// header of version 0x02. A v1 `.block` is one sealed object (version 0x01); a v1 `.wal`/`.walseg` starts with a
    /// frame's u32 length (see <see cref="HasSealedMagic"/>).
    /// </summary>
    public static bool IsSealedLog(ReadOnlySpan<byte> head) =>
        HasSealedMagic(head) && (head.Length <= SealedMagic.Length || head[SealedMagic.Length] == SealedLogVersion);

    /// <summary>
    /// Whether a file starts with a sealed header's magic "TSEAL" (or, shorter than it, with its first bytes: a v2
    /// header still being written). A v1 `.wal`/`.walseg` never does: it starts with a frame's u32 length, whose
    /// first byte is 0 for any frame of plausible size.
    /// </summary>
    public static bool HasSealedMagic(ReadOnlySpan<byte> head) =>
        head.Length < SealedMagic.Length ? head.Length > 0 && SealedMagic.StartsWith(head) : head.StartsWith(SealedMagic);

    private static ReadOnlySpan<byte> SealedMagic => "TSEAL"u8;

    /// <summary>`blocks/TENANT/yyyy/MM/dd/HH` for a UTC time.</summary>
    public static string BucketDirectory(string root, string tenant, DateTimeOffset utc) => Path.Combine(
        root, BlocksDir, tenant,
        utc.UtcDateTime.ToString("yyyy", CultureInfo.InvariantCulture),
        utc.UtcDateTime.ToString("MM", CultureInfo.InvariantCulture),
        utc.UtcDateTime.ToString("dd", CultureInfo.InvariantCulture),
        utc.UtcDateTime.ToString("HH", CultureInfo.InvariantCulture));

    /// <summary>`blocks/TENANT/yyyy/MM/dd/HH` for a UTC time: the object-store key folder (docs/format.md §12.1).</summary>
    public static string BucketKey(string tenant, DateTimeOffset utc) =>
        string.Create(CultureInfo.InvariantCulture, $"{BlocksDir}/{tenant}/{utc.UtcDateTime:yyyy'/'MM'/'dd'/'HH}");

    /// <summary>The block's file stem: the first 8 bytes of its (authenticated) object id, as 16 hex digits.</summary>
    public static string BlockStemFromObjectId(string objectIdHex) => objectIdHex[..(BlockNameBytes * 2)];

    public static void WriteFrameHeader(Span<byte> destination, uint segmentId, ulong seq, uint frameIndex)
    {
        destination[0] = FrameVersion;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], segmentId);
        BinaryPrimitives.WriteUInt64BigEndian(destination[5..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(destination[13..], frameIndex);
    }

    public static bool TryReadFrameHeader(ReadOnlySpan<byte> plaintext, out uint segmentId, out ulong seq, out uint frameIndex)
    {
        segmentId = 0;
        seq = 0;
        frameIndex = 0;
        if (plaintext.Length < FrameHeaderSize || plaintext[0] != FrameVersion)
        {
            return false;
        }

        segmentId = BinaryPrimitives.ReadUInt32BigEndian(plaintext[1..]);
        seq = BinaryPrimitives.ReadUInt64BigEndian(plaintext[5..]);
        frameIndex = BinaryPrimitives.ReadUInt32BigEndian(plaintext[13..]);
        return true;
    }

    public static void WriteRecordHeader(Span<byte> destination, byte signal, int length)
    {
        destination[0] = signal;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], (uint)length);
    }

    /// <summary>
    /// The header of a record: version 1 when <paramref name="consumers"/> is null, else version 2 followed by
    /// <paramref name="consumers"/> (<see cref="EncodeConsumers"/>: count and ids). Returns the header's size; the
    /// payload follows it.
    /// </summary>
    public static int WriteRecordHeader(Span<byte> destination, byte signal, int length, byte[]? consumers)
    {
        if (consumers is null)
        {
            WriteRecordHeader(destination, signal, length);
            return RecordHeaderSize;
        }

        WriteRecordHeader(destination, (byte)(RecordVersion2 | signal), length);
        consumers.CopyTo(destination[RecordHeaderSize..]);
        return RecordHeaderSize + consumers.Length;
    }

    /// <summary>Bytes of a record: header (with the consumer list of a version 2 record, <see cref="EncodeConsumers"/>), payload.</summary>
    public static int RecordSize(int payloadLength, byte[]? consumers) => RecordHeaderSize + (consumers?.Length ?? 0) + payloadLength;

    /// <summary>
    /// A consumer's id in version 2 records: the first 8 bytes of SHA-256(label ‖ 0x00 ‖ UTF-8 exporter id), as a
    /// big-endian integer. Derived from the exporter id, which also names its cursor: stable across restarts and
    /// pipeline renames, with no table to persist (docs/format.md §14.12).
    /// </summary>
    public static ulong ConsumerId(string exporterId)
    {
        ArgumentNullException.ThrowIfNull(exporterId);
        var input = new byte[ConsumerIdLabel.Length + 1 + System.Text.Encoding.UTF8.GetByteCount(exporterId)];
        ConsumerIdLabel.CopyTo(input);
        System.Text.Encoding.UTF8.GetBytes(exporterId, input.AsSpan(ConsumerIdLabel.Length + 1));
        Span<byte> hash = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(input, hash);
        return BinaryPrimitives.ReadUInt64BigEndian(hash);
    }

    /// <summary>A version 2 record's consumer list: count ‖ ids ascending (duplicates once). Made once per route at start, copied into each record.</summary>
    public static byte[] EncodeConsumers(IEnumerable<ulong> ids)
    {
        var sorted = ids.Distinct().Order().ToArray();
        if (sorted.Length > MaxRecordConsumers)
        {
            throw new ArgumentOutOfRangeException(nameof(ids), $"a record names at most {MaxRecordConsumers} consumers");
        }

        var encoded = new byte[1 + (ConsumerIdSize * sorted.Length)];
        encoded[0] = (byte)sorted.Length;
        for (int i = 0; i < sorted.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(encoded.AsSpan(1 + (i * ConsumerIdSize)), sorted[i]);
        }

        return encoded;
    }

    /// <summary>Whether a version 2 record's consumer ids (the bytes after its count) name <paramref name="id"/>.</summary>
    public static bool NamesConsumer(ReadOnlySpan<byte> consumerIds, ulong id)
    {
        for (int i = 0; i + ConsumerIdSize <= consumerIds.Length; i += ConsumerIdSize)
        {
            if (BinaryPrimitives.ReadUInt64BigEndian(consumerIds[i..]) == id)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads the record at <paramref name="offset"/>; false when the lengths do not fit (a corrupt plaintext).</summary>
    public static bool TryReadRecord(ReadOnlySpan<byte> records, int offset, out byte signal, out int payloadOffset, out int payloadLength) =>
        TryReadRecord(records, offset, out signal, out _, out _, out payloadOffset, out payloadLength);

    /// <summary>
    /// Reads the record at <paramref name="offset"/>, of either version (header comment): <paramref name="signal"/> is
    /// 0..2 for both; <paramref name="consumerCount"/> is -1 for a version 1 record (no list: it is for every
    /// consumer), else the ids are <paramref name="consumerCount"/> × 8 bytes at <paramref name="consumersOffset"/>.
    /// False when the type or the lengths do not fit (a corrupt plaintext).
    /// </summary>
    public static bool TryReadRecord(ReadOnlySpan<byte> records, int offset, out byte signal, out int consumersOffset, out int consumerCount, out int payloadOffset, out int payloadLength)
    {
        signal = 0;
        consumersOffset = 0;
        consumerCount = -1;
        payloadOffset = 0;
        payloadLength = 0;
        if ((uint)offset > (uint)records.Length || records.Length - offset < RecordHeaderSize)
        {
            return false;
        }

        byte type = records[offset];
        uint length = BinaryPrimitives.ReadUInt32BigEndian(records[(offset + 1)..]);
        int header = RecordHeaderSize;
        if ((type & 0xF0) == RecordVersion2)
        {
            if (records.Length - offset < RecordHeaderSize + 1)
            {
                return false;
            }

            consumerCount = records[offset + RecordHeaderSize];
            consumersOffset = offset + RecordHeaderSize + 1;
            header += 1 + (consumerCount * ConsumerIdSize);
            type &= 0x0F;
        }
        else if (type > 0x0F)
        {
            return false;
        }

        if (type > 2 || header > records.Length - offset || length > (uint)(records.Length - offset - header))
        {
            return false;
        }

        signal = type;
        payloadOffset = offset + header;
        payloadLength = (int)length;
        return true;
    }

    /// <summary>
    /// Retention and compaction delete a block as a unit (same stem): summary, then index, then block (<see cref="DeleteRank"/>),
    /// so a crash in between never leaves a summary or an index without its block. A recovered segment and a manifest are
    /// units of their own.
    /// </summary>
    public static bool IsUnitObject(string extension) =>
        extension is BlockExtension or IndexExtension or SummaryExtension or RecoveredExtension or ManifestExtension;

    /// <summary>A recovered segment or a manifest: a unit by itself (see <see cref="IsUnitObject"/>).</summary>
    public static bool IsOwnUnit(string extension) => extension is RecoveredExtension or ManifestExtension;

    /// <summary>Order of deletion within a block's unit: summary 0, index 1, block 2.</summary>
    public static int DeleteRank(string extension) => extension switch
    {
        SummaryExtension => 0,
        IndexExtension => 1,
        _ => 2,
    };

    /// <summary>
    /// Splits a listed key `ROOT/blocks/TENANT/yyyy/MM/dd/HH/NAME` (ROOT empty, `collectors/ID/` or any prefix a
    /// collector was given; docs/format.md §15.3) into its root (ending in '/', or ""), tenant, bucket
    /// (`blocks/TENANT/yyyy/MM/dd/HH`, without the root) and file name. False for any other key (a live WAL segment).
    /// </summary>
    public static bool TryParseBlockKey(string key, out string root, out string tenant, out string bucket, out string name)
    {
        root = tenant = bucket = name = "";
        var parts = key.Split('/');
        int b = parts.Length - 7;
        if (b < 0 || parts[b] != BlocksDir || !IsValidTenant(parts[b + 1]) || !BucketHour().IsMatch(string.Join('/', parts, b + 2, 4)))
        {
            return false;
        }

        root = b == 0 ? "" : string.Join('/', parts, 0, b) + "/";
        tenant = parts[b + 1];
        bucket = string.Join('/', parts, b, 6);
        name = parts[^1];
        return true;
    }

    [GeneratedRegex("^[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2}$")]
    private static partial Regex BucketHour();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]
    private static partial Regex TenantName();

    [GeneratedRegex("^([0-9]{10})-([0-9a-f]{8})$")]
    private static partial Regex SegmentStem();

    [GeneratedRegex("^([0-9]{10})-([0-9a-f]{16})$")]
    private static partial Regex LogStem();

    [GeneratedRegex("^[0-9a-f]{16}$")]
    private static partial Regex BlockStem();
}

/// <summary>Stable snake_case codes of store-level integrity failures (on top of the sealed-object codes of docs/format.md §7).</summary>
internal static class StoreCodes
{
    /// <summary>Not an error for a live segment: its last frame runs past the end of the file, the writer is still writing.</summary>
    public const string PartialWrite = "partial_write";
    public const string FrameMalformed = "frame_malformed";
    public const string SegmentMismatch = "segment_mismatch";
    public const string FrameOutOfOrder = "frame_out_of_order";
    public const string RecordMalformed = "record_malformed";
    public const string TenantMismatch = "tenant_mismatch";
    public const string KindMismatch = "kind_mismatch";
    public const string NameMismatch = "name_mismatch";
    public const string IndexMalformed = "index_malformed";
    public const string IndexMismatch = "index_mismatch";
    public const string BlockMissing = "block_missing";
    public const string TruncatedSegment = "truncated_segment";
    public const string SummaryMalformed = "summary_malformed";
    public const string SummaryMismatch = "summary_mismatch";
    public const string ManifestMalformed = "manifest_malformed";
    public const string ManifestMismatch = "manifest_mismatch";
}
