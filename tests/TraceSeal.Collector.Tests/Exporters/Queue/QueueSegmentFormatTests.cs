using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Exporters.Otlp.Queue;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Collector.Tests.Exporters.Queue;

/// <summary>The sending queue on disk (docs/format.md §13): segments are sealed logs (§14); v1 segments left behind are still sent.</summary>
public sealed partial class QueueSegmentFormatTests : IDisposable
{
    private const int SpansPerBatch = 3;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly ReceiverTestPki _pki = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-queuefmt-").FullName;

    public void Dispose()
    {
        _pki.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_queue_segment_is_a_sealed_log_of_kind_queue_with_one_header_for_all_its_frames()
    {
        const int batches = 5;
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        string exporterId;
        await using (var exporter = Create(upstream))
        {
            exporterId = exporter.Id;
            await exporter.StartAsync(CancellationToken.None);
            for (int i = 0; i < batches; i++)
            {
                Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Traces, SpansPerBatch)).Accepted);
            }

            await exporter.StopAsync(CancellationToken.None);
        }

        string segment = Assert.Single(QueueTestSupport.Segments(QueueDir));
        Assert.Matches(LogSegmentName(), Path.GetFileName(segment));
        byte[] bytes = File.ReadAllBytes(segment);
        QueueKey key = QueueKey.LoadOrCreate(KeyFile);

        SealedObjectInfo header = Sealer.ReadHeader(bytes);
        Assert.Equal(2, header.Version);
        Assert.Equal(ObjectKind.Queue, header.ObjectKind);
        Assert.Equal(exporterId, header.Tenant);
        Assert.Equal([key.Recipient.KeyId], header.RecipientKeyIds);
        Assert.Equal(1, Occurrences(bytes, "TSEAL"u8)); // one header (one key agreement) for the whole segment
        Assert.StartsWith(StoreFormat.BlockStemFromObjectId(header.ObjectId), Path.GetFileName(segment)[11..], StringComparison.Ordinal);

        // One group commit per sequential request; a graceful stop completes the log with its end frame.
        LogScan scan = LogScan.Scan(bytes);
        Assert.Equal(LogTail.Complete, scan.Tail);
        Assert.Equal(batches, scan.DataFrames);
        List<LogRecord> records = LogReader.ReadAll(bytes, [key.Identity], LogPlace.Block, out SealedObjectInfo? opened);
        Assert.Equal(ObjectKind.Queue, opened!.ObjectKind);
        Assert.Equal(batches, records.Count);
        Assert.All(records, r => Assert.Equal((byte)OtlpSignal.Traces, r.Signal));
        Assert.Empty(QueueTestSupport.FilesWithPlaintext(QueueDir));
    }

    [Fact]
    public async Task A_torn_tail_is_cut_at_restart_and_everything_acknowledged_is_resent()
    {
        const int batches = 12;
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Http);
        await using (var first = Create(upstream))
        {
            await first.StartAsync(CancellationToken.None);
            for (int i = 0; i < batches; i++)
            {
                Assert.True((await ExporterTestSupport.ExportAsync(first, OtlpSignal.Traces, SpansPerBatch)).Accepted);
            }

            await first.StopAsync(CancellationToken.None);
        }

        // A crash in the middle of the next write: no end frame, and a frame whose length promises more than was written.
        string segment = Assert.Single(QueueTestSupport.Segments(QueueDir));
        LogScan complete = LogScan.Scan(File.ReadAllBytes(segment));
        long acknowledged = complete.Frames[^1].Offset;
        await using (var stream = new FileStream(segment, FileMode.Open, FileAccess.Write))
        {
            stream.SetLength(acknowledged);
            stream.Seek(0, SeekOrigin.End);
            stream.Write([0x00, 0x00, 0x10, 0x00, 0x01, 0x02, 0x03]);
        }

        await using var second = Create(upstream);
        await second.StartAsync(CancellationToken.None);

        // Cut back to the last acknowledged frame, which stays open (a recovered segment gets no end frame).
        Assert.Equal(acknowledged, new FileInfo(segment).Length);
        LogScan recovered = LogScan.Scan(File.ReadAllBytes(segment));
        Assert.Equal(LogTail.Open, recovered.Tail);
        Assert.Equal(batches, recovered.DataFrames);

        await upstream.StartAsync();
        await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == batches * SpansPerBatch, "every acknowledged span upstream", Deadline);
        await Eventually.TrueAsync(() => second.QueueBacklogBytes == 0 && QueueTestSupport.Segments(QueueDir).Length == 0, "the queue to drain", Deadline);
        Assert.Equal(batches, upstream.Sink.Requests(OtlpSignal.Traces));
        Assert.Equal(batches * SpansPerBatch, second.Counters.Replayed);
        Assert.Equal(0, second.Counters.UnreadableFrames);
    }

    [Fact]
    public async Task A_v1_queue_segment_left_by_an_older_version_is_still_forwarded_from_its_cursor()
    {
        const ulong seq = 7;
        const uint segmentId = 0x0000abcd;
        await using var upstream = new SwitchableUpstream(_pki, OtlpExporterProtocol.Grpc);
        await using var exporter = Create(upstream);

        // What the previous version left: 3 frames of 2 records each, the first frame and a half forwarded.
        Directory.CreateDirectory(QueueDir);
        QueueKey key = QueueKey.LoadOrCreate(KeyFile);
        string v1 = Path.Combine(QueueDir, string.Create(CultureInfo.InvariantCulture, $"{seq:D10}-{segmentId:x8}{QueueLog.Extension}"));
        using (var file = File.Create(v1))
        {
            for (uint frame = 0; frame < 3; frame++)
            {
                file.Write(V1Frame(exporter.Id, key, segmentId, seq, frame, records: 2));
            }
        }

        File.WriteAllText(Path.Combine(QueueDir, QueueCursor.FileName), $"{seq} 1 1\n");

        await exporter.StartAsync(CancellationToken.None);
        Assert.True((await ExporterTestSupport.ExportAsync(exporter, OtlpSignal.Logs, 4)).Accepted);
        string v2 = Assert.Single(QueueTestSupport.Segments(QueueDir), s => s != v1);
        Assert.StartsWith($"{seq + 1:D10}-", Path.GetFileName(v2), StringComparison.Ordinal); // new data: a v2 segment after it
        Assert.Equal(1, LogScan.Scan(File.ReadAllBytes(v2)).DataFrames);

        await upstream.StartAsync();
        const int forwarded = 3; // record 1 of frame 1, both records of frame 2
        await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Traces) == forwarded * SpansPerBatch, "the v1 records after the cursor upstream", Deadline);
        await Eventually.TrueAsync(() => upstream.Sink.Items(OtlpSignal.Logs) == 4, "the new record upstream", Deadline);
        await Eventually.TrueAsync(() => exporter.QueueBacklogBytes == 0 && QueueTestSupport.Segments(QueueDir).Length == 0, "both segments forwarded and deleted", Deadline);
        Assert.Equal(forwarded, upstream.Sink.Requests(OtlpSignal.Traces));
        Assert.Equal(forwarded * SpansPerBatch, exporter.Counters.Replayed);
        Assert.Equal(0, exporter.Counters.UnreadableFrames);
    }

    /// <summary>`[u32 length][sealed object v1]` whose plaintext is the §12.2 frame: header, then records.</summary>
    private static byte[] V1Frame(string label, QueueKey key, uint segmentId, ulong seq, uint frame, int records)
    {
        byte[] payload = OtlpTestData.Traces(SpansPerBatch);
        byte[] plain = new byte[StoreFormat.FrameHeaderSize + (records * (StoreFormat.RecordHeaderSize + payload.Length))];
        StoreFormat.WriteFrameHeader(plain, segmentId, seq, frame);
        for (int i = 0, pos = StoreFormat.FrameHeaderSize; i < records; i++, pos += StoreFormat.RecordHeaderSize + payload.Length)
        {
            StoreFormat.WriteRecordHeader(plain.AsSpan(pos), (byte)OtlpSignal.Traces, payload.Length);
            payload.CopyTo(plain.AsSpan(pos + StoreFormat.RecordHeaderSize));
        }

        byte[] sealedFrame = Sealer.Seal(plain, ObjectKind.Queue, label, [key.Recipient]);
        byte[] bytes = new byte[StoreFormat.FrameLengthPrefix + sealedFrame.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)sealedFrame.Length);
        sealedFrame.CopyTo(bytes, StoreFormat.FrameLengthPrefix);
        return bytes;
    }

    private static int Occurrences(ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> what)
    {
        int count = 0;
        for (int at; (at = bytes.IndexOf(what)) >= 0; bytes = bytes[(at + what.Length)..])
        {
            count++;
        }

        return count;
    }

    [GeneratedRegex(@"^\d{10}-[0-9a-f]{16}\.queue$")]
    private static partial Regex LogSegmentName();

    private OtlpForwardingExporter Create(SwitchableUpstream upstream)
    {
        Directory.CreateDirectory(Path.Combine(_dir, "keys"));
        OtlpExporterSettings plain = ExporterTestSupport.Settings(
            upstream.Endpoint.StartsWith("https://", StringComparison.Ordinal) ? OtlpExporterProtocol.Http : OtlpExporterProtocol.Grpc,
            upstream.Endpoint,
            ExporterTestSupport.MutualTls(_pki));
        return ExporterTestSupport.Create(QueueTestSupport.WithQueue(plain, QueueDir, KeyFile));
    }

    private string QueueDir => Path.Combine(_dir, "queue");

    private string KeyFile => Path.Combine(_dir, "keys", "queue-key.pem");
}
