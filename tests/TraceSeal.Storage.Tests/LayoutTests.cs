using TraceSeal.Storage.Format;

namespace TraceSeal.Storage.Tests;

/// <summary>Golden bytes of the persisted layouts (docs/format.md §12): a change here is a format change.</summary>
public sealed class LayoutTests
{
    [Fact]
    public void Frame_header_and_record_header_golden_bytes()
    {
        var frame = new byte[StoreFormat.FrameHeaderSize];
        StoreFormat.WriteFrameHeader(frame, 0xdeadbeef, 1735689600, 2);
        Assert.Equal("01deadbeef000000006774858000000002", Convert.ToHexStringLower(frame));

        var record = new byte[StoreFormat.RecordHeaderSize];
        StoreFormat.WriteRecordHeader(record, 2, 300);
        Assert.Equal("020000012c", Convert.ToHexStringLower(record));
        Assert.Equal("1735689600-deadbeef.wal", StoreFormat.SegmentFileName(1735689600, 0xdeadbeef));
    }

    [Fact]
    public void Index_golden_bytes_and_round_trip()
    {
        var index = new BlockIndex
        {
            BlockObjectId = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray(),
            BlockSealedLength = 1000,
            BlockPlainLength = 900,
            MinStart = 10,
            MaxEnd = 20,
            MinDuration = 1,
            MaxDuration = 5,
            Flags = 0,
            Segments = [new IndexedSegment(7, 0xa1b2c3d4)],
            Records = [new IndexedRecord(0, 1, 50, 3, 10, 20)],
            Services = ["svc"],
            Names = ["op"],
            Traces = [new IndexedTrace(UInt128.One, 0)],
        };
        var bytes = index.Encode();
        Assert.Equal(
            "5453495801" + "000102030405060708090a0b0c0d0e0f" + "00000000000003e8" + "0000000000000384" +
            "000000000000000a" + "0000000000000014" + "0000000000000001" + "0000000000000005" + "00" +
            "00000001" + "0000000000000007" + "a1b2c3d4" +
            "00000001" + "00" + "0000000000000001" + "00000032" + "00000003" + "000000000000000a" + "0000000000000014" +
            "00000001" + "0003" + "737663" +
            "00000001" + "0002" + "6f70" +
            "00000001" + "00000000000000000000000000000001" + "00000000",
            Convert.ToHexStringLower(bytes));

        Assert.True(BlockIndex.TryDecode(bytes, out var decoded));
        Assert.Equal(index.Records, decoded!.Records);
        Assert.Equal(index.Traces, decoded.Traces);
        Assert.Equal(index.Segments, decoded.Segments);
        Assert.Equal(["svc"], decoded.Services);
        Assert.False(BlockIndex.TryDecode(bytes[..^1], out _));
        Assert.False(BlockIndex.TryDecode([.. bytes, 0], out _));
    }
}
