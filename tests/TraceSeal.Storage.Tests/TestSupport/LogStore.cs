using System.Buffers.Binary;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using TraceSeal.Otlp;
using TraceSeal.Query;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;

namespace TraceSeal.Storage.Tests.TestSupport;

/// <summary>One record as the store holds it: version 1 `[u8 signal][u32 length][payload]`, or version 2 with <see cref="Consumers"/>.</summary>
internal sealed record StoreRecord(OtlpSignal Signal, byte[] Payload)
{
    /// <summary>A version 2 record's consumer list (docs/format.md §14.12, <see cref="StoreFormat.EncodeConsumers"/>); null: version 1.</summary>
    public byte[]? Consumers { get; init; }

    public static StoreRecord Traces(ExportTraceServiceRequest request) => new(OtlpSignal.Traces, request.ToByteArray());
}

/// <summary>A sealed log as <see cref="LogStore"/> wrote it, with what its index v2 needs.</summary>
internal sealed record WrittenLog(string Path, string ObjectId, long Length, uint Frames, IReadOnlyList<(StoreRecord Record, IndexedRecord Place)> Records)
{
    public string Stem => StoreFormat.BlockStemFromObjectId(ObjectId);

    public string IndexPath => System.IO.Path.ChangeExtension(Path, StoreFormat.IndexExtension);
}

/// <summary>
/// Builds store objects directly, without the collector (whose writer changes): v2 sealed logs written with
/// <see cref="LogSegmentWriter"/> (live `.wal`, recovered `.walseg`, `.block` with its index v2 sealed with
/// <see cref="Sealer.Seal(ReadOnlySpan{byte}, ObjectKind, string, IReadOnlyList{IRecipient})"/>), and v1 objects
/// sealed as the v1 writer sealed them. Keys: `ops` (the store's recipient) and `other`, made with KeyFiles.Init.
/// </summary>
internal sealed class LogStore : IDisposable
{
    /// <summary>The hour bucket every block goes to.</summary>
    public static readonly DateTimeOffset Hour = new(2026, 1, 2, 3, 0, 0, TimeSpan.Zero);

    public LogStore()
    {
        Dir = Directory.CreateTempSubdirectory("traceseal-log-store-").FullName;
        KeyFiles.Init(Path.Combine(Dir, "keys"), "ops");
        KeyFiles.Init(Path.Combine(Dir, "keys"), "other");
        Directory.CreateDirectory(Store, StoreFormat.DirMode);
    }

    public string Dir { get; }

    public string Store => Path.Combine(Dir, "data");

    public string RecipientFile => Path.Combine(Dir, "keys", "ops.recipient.pem");

    public string IdentityFile => Path.Combine(Dir, "keys", "ops.identity.pem");

    public string OtherRecipientFile => Path.Combine(Dir, "keys", "other.recipient.pem");

    public string OtherIdentityFile => Path.Combine(Dir, "keys", "other.identity.pem");

    public IReadOnlyList<IRecipient> Recipients => [KeyFiles.LoadRecipient(RecipientFile)];

    public StoreReader Reader(string? identityFile = null) => new(Store, [KeyFiles.LoadIdentity(identityFile ?? IdentityFile)]);

    public string WalDir(string tenant) => Path.Combine(Store, StoreFormat.WalDir, tenant);

    public string Bucket(string tenant) => StoreFormat.BucketDirectory(Store, tenant, Hour);

    public IEnumerable<string> Files(string pattern) => Directory.GetFiles(Store, pattern, SearchOption.AllDirectories).Order(StringComparer.Ordinal);

    /// <summary>A live v2 segment `wal/TENANT/SEQ-ID.wal` holding <paramref name="frames"/>, still open (no end frame) unless <paramref name="close"/>.</summary>
    public WrittenLog Live(string tenant, ulong seq, IReadOnlyList<StoreRecord[]> frames, bool close = false) =>
        WriteLog(WalDir(tenant), seq, StoreFormat.WalExtension, tenant, frames, close);

    /// <summary>A v2 segment recovered after a crash: `blocks/TENANT/.../SEQ-ID.walseg`, without its end frame unless <paramref name="close"/>.</summary>
    public WrittenLog Recovered(string tenant, ulong seq, IReadOnlyList<StoreRecord[]> frames, bool close = false) =>
        WriteLog(Bucket(tenant), seq, StoreFormat.RecoveredExtension, tenant, frames, close);

    /// <summary>A v2 block: a closed segment renamed to `blocks/TENANT/.../ID.block`, and its sealed index v2 unless <paramref name="index"/> is false.</summary>
    public WrittenLog Block(string tenant, IReadOnlyList<StoreRecord[]> frames, bool index = true)
    {
        var segment = WriteLog(WalDir(tenant), 1_767_322_800, StoreFormat.WalExtension, tenant, frames, close: true);
        var block = segment with { Path = Path.Combine(Bucket(tenant), segment.Stem + StoreFormat.BlockExtension) };
        Directory.CreateDirectory(Bucket(tenant), StoreFormat.DirMode);
        File.Move(segment.Path, block.Path);
        if (index)
        {
            File.WriteAllBytes(block.IndexPath, Sealer.Seal(IndexOf(block).Encode(), ObjectKind.Index, tenant, Recipients));
        }

        return block;
    }

    /// <summary>The index v2 the collector writes for a block: every record, located by frame.</summary>
    public static BlockIndex IndexOf(WrittenLog log)
    {
        var records = new List<IndexedRecord>();
        var traces = new List<IndexedTrace>();
        var services = new SortedSet<string>(StringComparer.Ordinal);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        ulong minStart = ulong.MaxValue, maxEnd = 0, minDuration = ulong.MaxValue, maxDuration = 0;
        foreach (var (record, place) in log.Records)
        {
            var indexed = place;
            if (record.Signal == OtlpSignal.Traces)
            {
                var request = ExportTraceServiceRequest.Parser.ParseFrom(record.Payload);
                int spans = 0;
                ulong recordMin = ulong.MaxValue, recordMax = 0;
                foreach (var rs in request.ResourceSpans)
                {
                    services.Add(rs.Resource.Attributes.Single(a => a.Key == "service.name").Value.StringValue);
                    foreach (var span in rs.ScopeSpans.SelectMany(s => s.Spans))
                    {
                        spans++;
                        names.Add(span.Name);
                        recordMin = Math.Min(recordMin, span.StartTimeUnixNano);
                        recordMax = Math.Max(recordMax, span.EndTimeUnixNano);
                        minDuration = Math.Min(minDuration, span.EndTimeUnixNano - span.StartTimeUnixNano);
                        maxDuration = Math.Max(maxDuration, span.EndTimeUnixNano - span.StartTimeUnixNano);
                        traces.Add(new IndexedTrace(BinaryPrimitives.ReadUInt128BigEndian(span.TraceId.Span), records.Count));
                    }
                }

                minStart = Math.Min(minStart, recordMin);
                maxEnd = Math.Max(maxEnd, recordMax);
                indexed = place with { SpanCount = spans, MinStart = spans > 0 ? recordMin : 0, MaxEnd = recordMax };
            }

            records.Add(indexed);
        }

        return new BlockIndex
        {
            Version = StoreFormat.IndexVersion2,
            BlockObjectId = Convert.FromHexString(log.ObjectId),
            BlockSealedLength = log.Length,
            BlockPlainLength = log.Frames,
            MinStart = minStart == ulong.MaxValue ? 0 : minStart,
            MaxEnd = maxEnd,
            MinDuration = minDuration == ulong.MaxValue ? 0 : minDuration,
            MaxDuration = maxDuration,
            Segments = [],
            Records = records,
            Services = [.. services],
            Names = [.. names],
            Traces = [.. traces.Distinct().OrderBy(t => t.TraceId).ThenBy(t => t.Record)],
        };
    }

    private WrittenLog WriteLog(string directory, ulong seq, string extension, string tenant, IReadOnlyList<StoreRecord[]> frames, bool close)
    {
        Directory.CreateDirectory(directory, StoreFormat.DirMode);
        var writer = new LogSegmentWriter(directory, seq, extension, ObjectKind.WalSegment, tenant, Recipients, fsync: false);
        try
        {
            var records = new List<(StoreRecord, IndexedRecord)>();
            foreach (var frame in frames)
            {
                var plain = Records(frame, out var offsets);
                var (index, offset, sealedLength) = writer.Append(plain);
                for (int i = 0; i < frame.Length; i++)
                {
                    records.Add((frame[i], new IndexedRecord((byte)frame[i].Signal, offset, frame[i].Payload.Length, 0, 0, 0)
                    {
                        FrameIndex = index,
                        FrameLength = sealedLength,
                        OffsetInFrame = offsets[i],
                    }));
                }
            }

            if (close)
            {
                writer.Close();
            }

            return new WrittenLog(writer.Path, writer.ObjectId, writer.Length, writer.Frames, records);
        }
        finally
        {
            writer.Dispose();
        }
    }

    /// <summary>`record × n` (a v2 frame's plaintext; v1 prefixes a frame header or the block version).</summary>
    public static byte[] Records(IReadOnlyList<StoreRecord> records, out int[] offsets)
    {
        offsets = new int[records.Count];
        var plain = new byte[records.Sum(r => StoreFormat.RecordSize(r.Payload.Length, r.Consumers))];
        int pos = 0;
        for (int i = 0; i < records.Count; i++)
        {
            offsets[i] = pos;
            int header = StoreFormat.WriteRecordHeader(plain.AsSpan(pos), (byte)records[i].Signal, records[i].Payload.Length, records[i].Consumers);
            records[i].Payload.CopyTo(plain, pos + header);
            pos += header + records[i].Payload.Length;
        }

        return plain;
    }

    /// <summary>A v1 WAL segment (live `.wal` under wal/, or recovered `.walseg` in the bucket): each frame its own sealed object.</summary>
    public string V1Segment(string tenant, ulong seq, uint segmentId, IReadOnlyList<StoreRecord[]> frames, bool recovered = false)
    {
        var directory = recovered ? Bucket(tenant) : WalDir(tenant);
        Directory.CreateDirectory(directory, StoreFormat.DirMode);
        var name = StoreFormat.SegmentFileName(seq, segmentId);
        var path = Path.Combine(directory, recovered ? Path.ChangeExtension(name, StoreFormat.RecoveredExtension) : name);
        using var file = new MemoryStream();
        for (int i = 0; i < frames.Count; i++)
        {
            var records = Records(frames[i], out _);
            var plain = new byte[StoreFormat.FrameHeaderSize + records.Length];
            StoreFormat.WriteFrameHeader(plain, segmentId, seq, (uint)i);
            records.CopyTo(plain, StoreFormat.FrameHeaderSize);
            var sealedFrame = Sealer.Seal(plain, ObjectKind.WalSegment, tenant, Recipients);
            var prefix = new byte[StoreFormat.FrameLengthPrefix];
            BinaryPrimitives.WriteUInt32BigEndian(prefix, (uint)sealedFrame.Length);
            file.Write(prefix);
            file.Write(sealedFrame);
        }

        File.WriteAllBytes(path, file.ToArray());
        return path;
    }

    /// <summary>A v1 block (one sealed object, `0x01 ‖ record × n`) and its index v1 listing the segments it folded.</summary>
    public string V1Block(string tenant, IReadOnlyList<StoreRecord> records, IReadOnlyList<IndexedSegment> folded)
    {
        var body = Records(records, out var offsets);
        var plain = new byte[1 + body.Length];
        plain[0] = StoreFormat.BlockVersion;
        body.CopyTo(plain, 1);
        var sealedBlock = Sealer.Seal(plain, ObjectKind.Block, tenant, Recipients);
        var objectId = Sealer.ReadHeader(sealedBlock).ObjectId;
        Directory.CreateDirectory(Bucket(tenant), StoreFormat.DirMode);
        var path = Path.Combine(Bucket(tenant), StoreFormat.BlockStemFromObjectId(objectId) + StoreFormat.BlockExtension);
        File.WriteAllBytes(path, sealedBlock);

        var traces = new List<IndexedTrace>();
        var indexed = new List<IndexedRecord>();
        for (int i = 0; i < records.Count; i++)
        {
            int spans = 0;
            if (records[i].Signal == OtlpSignal.Traces)
            {
                foreach (var span in ExportTraceServiceRequest.Parser.ParseFrom(records[i].Payload).ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans))
                {
                    spans++;
                    traces.Add(new IndexedTrace(BinaryPrimitives.ReadUInt128BigEndian(span.TraceId.Span), i));
                }
            }

            indexed.Add(new IndexedRecord((byte)records[i].Signal, 1 + offsets[i], records[i].Payload.Length, spans, 0, ulong.MaxValue));
        }

        var index = new BlockIndex
        {
            BlockObjectId = Convert.FromHexString(objectId),
            BlockSealedLength = sealedBlock.Length,
            BlockPlainLength = plain.Length,
            MaxEnd = ulong.MaxValue,
            MaxDuration = ulong.MaxValue,
            Flags = BlockIndex.ServicesOverflow | BlockIndex.NamesOverflow,
            Segments = folded,
            Records = indexed,
            Services = [],
            Names = [],
            Traces = [.. traces.Distinct().OrderBy(t => t.TraceId).ThenBy(t => t.Record)],
        };
        File.WriteAllBytes(Path.ChangeExtension(path, StoreFormat.IndexExtension), Sealer.Seal(index.Encode(), ObjectKind.Index, tenant, Recipients));
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
