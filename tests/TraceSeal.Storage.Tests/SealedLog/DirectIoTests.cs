using TraceSeal.Collector.Storage.Wal;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;
using TraceSeal.Storage.Tests.TestSupport;

namespace TraceSeal.Storage.Tests.SealedLog;

/// <summary>
/// The log writer with direct I/O (O_DIRECT, with fsync, on a file system that takes it: the test directory's): whole
/// 4 KiB blocks written, the last partial block written again with the next frame, zero fill after the last frame
/// until the log is closed. The bytes a reader sees must be those of a buffered writer, up to the zero fill.
/// </summary>
public sealed class DirectIoTests : IDisposable
{
    private readonly LogStore _s = new();

    public void Dispose() => _s.Dispose();

    private LogSegmentWriter Writer(bool fsync = true)
    {
        Directory.CreateDirectory(_s.WalDir("acme"), StoreFormat.DirMode);
        return new LogSegmentWriter(_s.WalDir("acme"), 7, StoreFormat.WalExtension, ObjectKind.WalSegment, "acme", _s.Recipients, fsync);
    }

    private static byte[] Plain(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private IReadOnlyList<byte[]> Open(byte[] log, LogPlace place) =>
        [.. LogReader.ReadAll(log, [KeyFiles.LoadIdentity(_s.IdentityFile)], place, out _).Select(r => r.Payload.ToArray())];

    // Frames that end inside a block, exactly on a boundary, and span several blocks.
    private static readonly int[] Sizes = [1, 100, 4000, 4096 - 36, 9000, 70_000, 3, 200_000, 17];

    [Fact]
    public void Every_frame_reads_back_after_each_write_with_only_zero_fill_after_it_and_the_closed_log_is_exact()
    {
        using var writer = Writer();
        Assert.True(writer.IsDirect, "the test directory's file system takes O_DIRECT (ext4 and tmpfs do)");
        var written = new List<byte[]>();
        for (int i = 0; i < Sizes.Length; i++)
        {
            var plain = Plain(Sizes[i], i);
            written.Add(plain);
            var (index, offset, _) = writer.Append(RecordOf(plain));
            Assert.Equal((uint)i, index);

            var file = File.ReadAllBytes(writer.Path);
            Assert.Equal(0, file.Length % LogSegmentWriter.DirectAlign);
            var scan = LogScan.Scan(file);
            Assert.Equal(LogTail.Open, scan.Tail);
            Assert.Equal(writer.Length, scan.GoodLength);
            Assert.Equal(i + 1, scan.DataFrames);
            Assert.Equal(offset, scan.Frames[i].Offset);
            Assert.True(file.AsSpan((int)scan.GoodLength).IndexOfAnyExcept((byte)0) < 0, "only zeros after the last frame");
            Assert.Equal(written, Open(file, LogPlace.Live));
        }

        long length = writer.Length;
        writer.Close();
        var closed = File.ReadAllBytes(writer.Path);
        Assert.Equal(length + SealedLogWriter.EndFrameLength, closed.Length); // the zero fill is cut
        Assert.Equal(LogTail.Complete, LogScan.Scan(closed).Tail);
        Assert.Equal(written, Open(closed, LogPlace.Block));
    }

    [Fact]
    public void Without_fsync_the_writer_stays_buffered_and_the_file_ends_at_its_last_frame()
    {
        using var writer = Writer(fsync: false);
        Assert.False(writer.IsDirect);
        writer.Append(RecordOf(Plain(100, 1)));
        Assert.Equal(writer.Length, new FileInfo(writer.Path).Length);
    }

    [Fact]
    public void A_crashed_direct_segment_is_recovered_without_its_zero_fill_and_without_a_torn_tail_warning()
    {
        var writer = Writer();
        writer.Append(RecordOf(Plain(5000, 1)));
        writer.Append(RecordOf(Plain(10, 2)));
        long good = writer.Length;
        string path = writer.Path;
        writer.Dispose(); // a crash: no end frame
        Assert.NotEqual(good, new FileInfo(path).Length);

        var log = new LineLogger();
        Assert.Equal(good, WalRecovery.CutTornTail(path, v1Tenant: null, log));
        Assert.Equal(good, new FileInfo(path).Length);
        Assert.Empty(log.Lines);
        Assert.Equal(2, Open(File.ReadAllBytes(path), LogPlace.Recovered).Count);
    }

    [Fact]
    public void Zero_fill_is_told_apart_from_a_torn_frame_and_a_file_of_zeros_holds_nothing()
    {
        using var writer = Writer(fsync: false);
        writer.Append(RecordOf(Plain(100, 1)));
        var exact = File.ReadAllBytes(writer.Path);

        // Up to 4095 zero bytes: an open log.
        var filled = exact.Concat(new byte[LogSegmentWriter.DirectAlign - 1]).ToArray();
        Assert.Equal((LogTail.Open, exact.LongLength), (LogScan.Scan(filled).Tail, LogScan.Scan(filled).GoodLength));

        // A whole block of zeros or more is not what a direct write leaves after a durable frame: torn.
        var longer = exact.Concat(new byte[LogSegmentWriter.DirectAlign]).ToArray();
        Assert.Equal(LogTail.Torn, LogScan.Scan(longer).Tail);

        // A zero length prefix followed by anything that is not zero: torn.
        var dirty = exact.Concat(new byte[] { 0, 0, 0, 0, 0, 1 }).ToArray();
        Assert.Equal((LogTail.Torn, exact.LongLength), (LogScan.Scan(dirty).Tail, LogScan.Scan(dirty).GoodLength));

        // A first direct write whose blocks were never written: zeros only, no header, nothing acknowledged.
        Assert.Equal(LogTail.NoHeader, LogScan.Scan(new byte[LogSegmentWriter.DirectAlign]).Tail);
    }

    private static byte[] RecordOf(byte[] payload)
    {
        var plain = new byte[StoreFormat.RecordHeaderSize + payload.Length];
        StoreFormat.WriteRecordHeader(plain, 2, payload.Length);
        payload.CopyTo(plain, StoreFormat.RecordHeaderSize);
        return plain;
    }

}
