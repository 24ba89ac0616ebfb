using TraceSeal.Otlp;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;

namespace TraceSeal.Query;

/// <summary>
/// The v2 layout (docs/format.md §14): a segment is one sealed log — header, frames each bound to its position,
/// an end frame once complete — and becomes a block by a rename. Logs are walked by the store's one keyless
/// <see cref="LogScan"/> and opened by <see cref="LogReader"/>; this part checks each log against its place (kind,
/// tenant directory, name ↔ object id) and an index v2 against its block, and opens only the frames a query needs.
/// </summary>
public sealed partial class StoreReader
{
    /// <summary>
    /// Beyond this many frames of a block a query needs, one GET of the block is cheaper than a ranged GET per
    /// frame (object storage answers each in tens of milliseconds).
    /// </summary>
    private const int MaxRangedFrames = 32;

    /// <summary>
    /// An index v2 against the block's length, before any frame is read. Its offsets are file offsets as written;
    /// `keys rewrap` may since have changed the header's length (never the frames), so they are compared after
    /// the header: the index's frame 0 starts where its header ended, so <c>shift = file length - block_sealed_length</c>
    /// must move frame 0 to where this header ends. Every data frame holds at least one record, so each must
    /// have one in the index (else the index does not describe every frame, and pruning by it would be unsound).
    /// </summary>
    private static bool FramesFitLength(BlockIndex index, int headerLength, long blockLength)
    {
        long frames = index.BlockPlainLength;
        if (frames > index.Records.Count)
        {
            return false;
        }

        if (frames == 0)
        {
            return blockLength - headerLength == SealedLogWriter.EndFrameLength;
        }

        long shift = blockLength - index.BlockSealedLength;
        var indexed = new bool[frames];
        foreach (var r in index.Records)
        {
            indexed[r.FrameIndex] = true; // FrameIndex < block_plain_length: BlockIndex.TryDecode checks it
            if (r.FrameIndex == 0 && r.Offset + shift != headerLength)
            {
                return false;
            }
        }

        return Array.IndexOf(indexed, false) < 0;
    }

    /// <summary>A `.block`: v1 (one sealed object) or v2 (a sealed log); null when it is skipped.</summary>
    private Source? ReadBlock(string key, string tenant, IndexCheck? check, TraceQuery? prune, Dictionary<string, Source> liveLogs)
    {
        byte[]? bytes = null;
        if (check is null)
        {
            bytes = Get(key, StoreCodes.BlockMissing);
            if (!StoreFormat.IsSealedLog(bytes))
            {
                return ReadBlockV1(key, tenant, index: null, prune, bytes);
            }
        }
        else if (check.Index.Version != StoreFormat.IndexVersion2)
        {
            return ReadBlockV1(key, tenant, check.Index, prune, bytes: null);
        }

        // A v2 block is the live segment it was, renamed: the same object id.
        string? objectId = check?.Header.ObjectId ?? TryObjectId(bytes!);
        if (objectId is not null && liveLogs.TryGetValue(objectId, out var liveRead))
        {
            if (liveRead.Complete)
            {
                return null; // read already, all of it
            }

            liveRead.Superseded = true; // the block holds what that read saw, and the frames written since
        }

        List<int>? selected = null;
        if (prune is not null && check is not null)
        {
            selected = SelectRecords(check.Index, prune);
            if (selected.Count == 0)
            {
                return null;
            }

            int frames = CountFrames(check.Index, selected);
            if (frames < check.Index.BlockPlainLength && frames <= MaxRangedFrames)
            {
                return ReadFrames(key, tenant, check, selected);
            }
        }

        bytes ??= Get(key, StoreCodes.BlockMissing);
        return ReadLog(key, tenant, bytes, LogPlace.Block, check, selected);
    }

    /// <summary>
    /// A sealed log (v2): a live `.wal`, a recovered `.walseg` or a `.block`, read in full with <see cref="LogReader"/>
    /// (which judges the tail by <paramref name="place"/>). With <paramref name="check"/> (a block's index v2) every
    /// indexed record must be the record at that place (frame, offset, length, signal); <paramref name="selected"/>
    /// limits the records returned to those the index says may match.
    /// </summary>
    private Source ReadLog(string key, string tenant, byte[] bytes, LogPlace place, IndexCheck? check, List<int>? selected)
    {
        var path = _store.Describe(key);
        var stem = Path.GetFileNameWithoutExtension(key);
        string nameId = stem;
        if (place != LogPlace.Block && !StoreFormat.TryParseLogStem(stem, out _, out nameId))
        {
            throw new StoreIntegrityException(path, StoreCodes.NameMismatch);
        }

        List<LogRecord> records;
        SealedObjectInfo? info;
        try
        {
            records = LogReader.ReadAll(bytes, _identities, place, out info);
        }
        catch (SealedIntegrityException e)
        {
            throw new StoreIntegrityException(path, e.Code, LocateFailure(bytes, e.Code));
        }
        catch (NoIdentityMatchException e)
        {
            throw new StoreAccessException(path, e);
        }

        if (info is null)
        {
            // A live segment whose header is still being written: nothing in it was acknowledged yet.
            return new Source { Order = ulong.MaxValue, Path = path, Records = [] };
        }

        CheckLog(path, info, tenant, nameId);
        var scan = LogScan.Scan(bytes);
        FramesOpened += scan.Frames.Count;
        if (check is not null)
        {
            CheckIndexAgainstLog(path, check, bytes.Length, scan, records);
        }

        bool[]? wanted = null;
        if (selected is not null)
        {
            wanted = new bool[records.Count];
            foreach (int i in selected)
            {
                wanted[i] = true;
            }
        }

        var output = new List<StoredRecord>(records.Count);
        for (int i = 0; i < records.Count; i++)
        {
            if (wanted is null || wanted[i])
            {
                output.Add(new StoredRecord(tenant, (OtlpSignal)records[i].Signal, records[i].Payload, path));
            }
        }

        return new Source
        {
            Order = (ulong)info.CreatedUnixSeconds,
            Path = path,
            Records = output,
            ObjectId = info.ObjectId,
            Complete = scan.Tail == LogTail.Complete,
        };
    }

    /// <summary>
    /// The frames of a v2 block that hold <paramref name="selected"/> records, and its end frame, each fetched by
    /// itself (ranged reads) and opened at the index the index gives it: a frame at another position, of another
    /// log or changed does not authenticate. The end frame at the end of the file, at position block_plain_length,
    /// shows the block is complete with exactly the frames the index counts.
    /// </summary>
    private Source ReadFrames(string key, string tenant, IndexCheck check, List<int> selected)
    {
        var path = _store.Describe(key);
        var index = check.Index;
        long shift = check.BlockLength - index.BlockSealedLength;
        SealedLogReader reader;
        try
        {
            reader = SealedLogReader.Open(check.Head, _identities);
        }
        catch (SealedIntegrityException e)
        {
            throw new StoreIntegrityException(path, e.Code);
        }
        catch (NoIdentityMatchException e)
        {
            throw new StoreAccessException(path, e);
        }

        using (reader)
        {
            CheckLog(path, reader.Info, tenant, Path.GetFileNameWithoutExtension(key));
            int endLength = SealedLogWriter.EndFrameLength;
            var end = GetRange(key, check.BlockLength - endLength, endLength);
            Span<byte> nothing = stackalloc byte[endLength]; // the end frame's plaintext is empty
            if (end.Length != endLength || !LogReader.PrefixMatches(end, endLength - LogScan.PrefixLength)
                || !OpenEnd(path, reader, (uint)index.BlockPlainLength, end.AsSpan(LogScan.PrefixLength), nothing))
            {
                throw new StoreIntegrityException(path, SealedIntegrityException.Truncated);
            }

            var output = new List<StoredRecord>(selected.Count);
            var byFrame = new SortedDictionary<uint, List<int>>();
            foreach (int i in selected)
            {
                uint frameIndex = index.Records[i].FrameIndex;
                if (!byFrame.TryGetValue(frameIndex, out var list))
                {
                    byFrame[frameIndex] = list = [];
                }

                list.Add(i);
            }

            foreach (var (frameIndex, recordsOfFrame) in byFrame)
            {
                var first = index.Records[recordsOfFrame[0]];
                long offset = first.Offset + shift;
                int length = first.FrameLength;
                var where = $"frame {frameIndex} at offset {offset}";
                if (offset < check.Header.HeaderLength || offset + LogScan.PrefixLength + length > check.BlockLength - endLength)
                {
                    throw new StoreIntegrityException(path, StoreCodes.IndexMismatch, where);
                }

                var frame = GetRange(key, offset, LogScan.PrefixLength + length);
                if (frame.Length != LogScan.PrefixLength + length || !LogReader.PrefixMatches(frame, length))
                {
                    throw new StoreIntegrityException(path, StoreCodes.IndexMismatch, where);
                }

                byte[]? plain;
                try
                {
                    plain = LogReader.OpenFrame(reader, new LogFrame(frameIndex, offset, length), frame.AsSpan(LogScan.PrefixLength));
                    FramesOpened++;
                    if (plain is null)
                    {
                        throw new StoreIntegrityException(path, StoreCodes.IndexMismatch, where);
                    }

                    foreach (int i in recordsOfFrame)
                    {
                        var indexed = index.Records[i];
                        if (indexed.Offset != first.Offset || indexed.FrameLength != length)
                        {
                            throw new StoreIntegrityException(path, StoreCodes.IndexMismatch, where);
                        }

                        var record = LogReader.RecordAt(plain, frameIndex, indexed.OffsetInFrame);
                        if (record.Signal != indexed.Signal || record.Payload.Length != indexed.Length)
                        {
                            throw new StoreIntegrityException(path, StoreCodes.IndexMismatch, where);
                        }

                        output.Add(new StoredRecord(tenant, (OtlpSignal)record.Signal, record.Payload, path));
                    }
                }
                catch (SealedIntegrityException e)
                {
                    throw new StoreIntegrityException(path, e.Code, where);
                }
            }

            return new Source { Order = (ulong)reader.Info.CreatedUnixSeconds, Path = path, Records = output, ObjectId = reader.Info.ObjectId, Complete = true };
        }
    }

    /// <summary>Opens what should be the end frame at <paramref name="frameIndex"/>; false when it is a data frame there.</summary>
    private bool OpenEnd(string path, SealedLogReader reader, uint frameIndex, ReadOnlySpan<byte> sealedFrame, Span<byte> plain)
    {
        try
        {
            reader.OpenFrame(frameIndex, sealedFrame, plain, out bool end);
            FramesOpened++;
            return end;
        }
        catch (SealedIntegrityException e)
        {
            throw new StoreIntegrityException(path, e.Code, $"end frame {frameIndex}");
        }
    }

    /// <summary>
    /// After <see cref="LogReader.ReadAll"/> failed with <paramref name="code"/>: which frame, for the message (the
    /// operator's next step is to look at that offset). Null when the failure is not a frame's (the header, the tail).
    /// </summary>
    private string? LocateFailure(byte[] bytes, string code)
    {
        try
        {
            var scan = LogScan.Scan(bytes);
            using var reader = SealedLogReader.Open(bytes, _identities);
            var records = new List<LogRecord>();
            foreach (var frame in scan.Frames)
            {
                try
                {
                    if (LogReader.OpenFrame(reader, frame, bytes.AsSpan((int)frame.Offset + LogScan.PrefixLength, frame.SealedLength)) is { } plain)
                    {
                        records.Clear();
                        LogReader.ParseRecords(plain, frame.Index, records);
                    }
                }
                catch (SealedIntegrityException e) when (e.Code == code)
                {
                    return $"frame {frame.Index} at offset {frame.Offset}";
                }
            }
        }
        catch (Exception e) when (e is SealedIntegrityException or NoIdentityMatchException)
        {
            // The header failed: no frame to name.
        }

        return null;
    }

    /// <summary>A log's authenticated header against its place: kind wal-segment, the tenant directory, the name's id.</summary>
    private static void CheckLog(string path, SealedObjectInfo info, string tenant, string nameId)
    {
        if (info.ObjectKind != ObjectKind.WalSegment)
        {
            throw new StoreIntegrityException(path, StoreCodes.KindMismatch);
        }

        if (!string.Equals(info.Tenant, tenant, StringComparison.Ordinal))
        {
            throw new StoreIntegrityException(path, StoreCodes.TenantMismatch);
        }

        if (!string.Equals(nameId, StoreFormat.BlockStemFromObjectId(info.ObjectId), StringComparison.Ordinal))
        {
            throw new StoreIntegrityException(path, StoreCodes.NameMismatch);
        }
    }

    /// <summary>
    /// Index v2 ↔ the block read in full: as many data frames; one indexed record per record, in log order, at the
    /// same frame and offset in it, of the same signal and length; each record's frame where the scan found it
    /// (offsets shifted by a rewrapped header's change of length, see <see cref="FramesFitLength"/>).
    /// </summary>
    private static void CheckIndexAgainstLog(string path, IndexCheck check, long fileLength, LogScan scan, List<LogRecord> records)
    {
        var index = check.Index;
        long shift = fileLength - index.BlockSealedLength;
        bool matches = index.BlockPlainLength == scan.DataFrames && index.Records.Count == records.Count;
        for (int i = 0; matches && i < records.Count; i++)
        {
            var indexed = index.Records[i];
            var record = records[i];
            var frame = scan.Frames[(int)record.FrameIndex];
            matches = indexed.FrameIndex == record.FrameIndex && indexed.OffsetInFrame == record.OffsetInFrame
                      && indexed.Signal == record.Signal && indexed.Length == record.Payload.Length
                      && indexed.Offset + shift == frame.Offset && indexed.FrameLength == frame.SealedLength;
        }

        if (!matches)
        {
            throw new StoreIntegrityException(path, StoreCodes.IndexMismatch, $"(its index {Path.GetFileNameWithoutExtension(path)}{StoreFormat.IndexExtension} describes another object)");
        }
    }

    /// <summary>The object id in a log's header (not authenticated: used only to find a live read of the same log), or null when there is no header to read.</summary>
    private static string? TryObjectId(byte[] bytes)
    {
        try
        {
            return Sealer.ReadHeader(bytes).ObjectId;
        }
        catch (SealedIntegrityException)
        {
            return null; // reported when the log is read
        }
    }

    /// <summary>Records of an index v2 that may hold a matching span: traces, with spans, of the trace id, overlapping the time range.</summary>
    private static List<int> SelectRecords(BlockIndex index, TraceQuery q)
    {
        var selected = new List<int>();
        if (!MayMatch(index, q, out var byTrace))
        {
            return selected;
        }

        for (int i = 0; i < index.Records.Count; i++)
        {
            var r = index.Records[i];
            if (r.Signal == (byte)OtlpSignal.Traces && r.SpanCount > 0 && (byTrace is null || byTrace.Contains(i))
                && r.MaxEnd >= q.FromNano && r.MinStart <= q.ToNanoOrMax)
            {
                selected.Add(i);
            }
        }

        return selected;
    }

    private static int CountFrames(BlockIndex index, List<int> selected)
    {
        var frames = new HashSet<uint>();
        foreach (int i in selected)
        {
            frames.Add(index.Records[i].FrameIndex);
        }

        return frames.Count;
    }
}
