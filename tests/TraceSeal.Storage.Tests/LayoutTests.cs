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
    public void Record_version_2_golden_bytes_and_both_versions_read_back()
    {
        // docs/format.md §14.12: consumer ids of "otlp/gw" and "otlp/other", ascending, then the payload.
        ulong gw = StoreFormat.ConsumerId("otlp/gw");
        ulong other = StoreFormat.ConsumerId("otlp/other");
        Assert.Equal("5452661fff6866aa", gw.ToString("x16"));
        Assert.Equal("48ce6ad7c7e41f99", other.ToString("x16"));
        byte[] consumers = StoreFormat.EncodeConsumers([gw, other, gw]);
        Assert.Equal("02" + "48ce6ad7c7e41f99" + "5452661fff6866aa", Convert.ToHexStringLower(consumers));

        var record = new byte[StoreFormat.RecordSize(3, consumers)];
        int header = StoreFormat.WriteRecordHeader(record, 0, 3, consumers);
        "abc"u8.CopyTo(record.AsSpan(header));
        Assert.Equal("10" + "00000003" + "02" + "48ce6ad7c7e41f99" + "5452661fff6866aa" + "616263", Convert.ToHexStringLower(record));
        Assert.True(StoreFormat.TryReadRecord(record, 0, out byte signal, out int consumersOffset, out int count, out int payloadOffset, out int payloadLength));
        Assert.Equal((0, 6, 2, 22, 3), (signal, consumersOffset, count, payloadOffset, payloadLength));
        Assert.True(StoreFormat.NamesConsumer(record.AsSpan(consumersOffset, count * StoreFormat.ConsumerIdSize), gw));
        Assert.False(StoreFormat.NamesConsumer(record.AsSpan(consumersOffset, count * StoreFormat.ConsumerIdSize), StoreFormat.ConsumerId("otlp/gw2")));

        // A record for no forwarder (the store's only): count 0.
        var none = new byte[StoreFormat.RecordSize(1, StoreFormat.EncodeConsumers([]))];
        StoreFormat.WriteRecordHeader(none, 2, 1, StoreFormat.EncodeConsumers([]));
        Assert.Equal("12" + "00000001" + "00" + "00", Convert.ToHexStringLower(none));
        Assert.True(StoreFormat.TryReadRecord(none, 0, out signal, out _, out count, out payloadOffset, out _));
        Assert.Equal((2, 0, 6), (signal, count, payloadOffset));

        // The old layout is read as before: no consumer list (-1), for every consumer.
        byte[] old = Convert.FromHexString("0100000002" + "6869");
        Assert.True(StoreFormat.TryReadRecord(old, 0, out signal, out _, out count, out payloadOffset, out payloadLength));
        Assert.Equal((1, -1, 5, 2), (signal, count, payloadOffset, payloadLength));
    }

    [Theory]
    [InlineData("13" + "00000000" + "00", "signal 3 in a version 2 type byte")]
    [InlineData("20" + "00000000", "record version 3")]
    [InlineData("ff" + "00000000", "type 0xff")]
    [InlineData("03" + "00000000", "signal 3 in a version 1 record")]
    [InlineData("10" + "00000000", "a version 2 record that ends before its count")]
    [InlineData("10" + "00000000" + "01" + "00000000", "a consumer id cut short")]
    [InlineData("10" + "00000000" + "ff" + "0000000000000000", "a count that runs past the end")]
    [InlineData("10" + "00000002" + "00" + "61", "a payload length that runs past the end")]
    [InlineData("10" + "ffffffff" + "00", "a payload length of 4 GiB")]
    [InlineData("10" + "0000", "a header cut short")]
    public void A_malformed_record_header_is_refused_not_read_past(string hex, string why)
    {
        Assert.False(StoreFormat.TryReadRecord(Convert.FromHexString(hex), 0, out _, out _, out _, out _, out _), why);
        var e = Assert.Throws<TraceSeal.Sealing.SealedIntegrityException>(() => TraceSeal.Storage.Log.LogReader.ParseRecords(Convert.FromHexString(hex), 0, []));
        Assert.Equal(StoreCodes.RecordMalformed, e.Code);
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
