using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using TraceSeal.Otlp;
using TraceSeal.Query;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Tests.TestSupport;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;

namespace TraceSeal.Storage.Tests.SealedLog;

/// <summary>
/// The reader on the v2 layout (docs/format.md §14): segments that are sealed logs, blocks that are those segments
/// renamed, indexes that locate records by frame — and the v1 layout next to it, still readable.
/// </summary>
public sealed class SealedLogReadTests : IDisposable
{
    private readonly LogStore _s = new();

    public void Dispose() => _s.Dispose();

    private static StoreRecord T(string service, params int[] traces) => StoreRecord.Traces(Request(service, traces));

    private static StoreRecord Log(string text) => new(OtlpSignal.Logs, System.Text.Encoding.UTF8.GetBytes(text));

    private static List<(OtlpSignal, string)> Contents(IEnumerable<StoredRecord> records) => [.. records.Select(r => (r.Signal, Convert.ToHexString(r.Payload.Span)))];

    private static List<(OtlpSignal, string)> Contents(IEnumerable<StoreRecord> records) => [.. records.Select(r => (r.Signal, Convert.ToHexString(r.Payload)))];

    [Fact]
    public void A_block_and_its_index_read_back_every_record_in_order()
    {
        StoreRecord[][] frames = [[T("checkout", 1, 2), Log("one")], [T("cart", 3)], [Log("two"), T("checkout", 4), T("cart", 5)]];
        var block = _s.Block("acme", frames);
        Assert.True(File.Exists(block.IndexPath));

        var records = _s.Reader().ReadRecords("acme");

        Assert.Equal(Contents(frames.SelectMany(f => f)), Contents(records));
        Assert.All(records, r => Assert.Equal(block.Path, r.ObjectPath));
        var all = _s.Reader().Query(new TraceQuery { Limit = 0 });
        Assert.Equal(5, all.TraceCount);
        Assert.Equal(Merge(Request("checkout", [1, 2]), Request("cart", [3]), Request("checkout", [4]), Request("cart", [5])), all.Request);
    }

    [Fact]
    public void A_block_without_its_index_reads_back_every_record()
    {
        StoreRecord[][] frames = [[T("checkout", 1)], [T("cart", 2), Log("x")]];
        _s.Block("acme", frames, index: false);

        Assert.Equal(Contents(frames.SelectMany(f => f)), Contents(_s.Reader().ReadRecords("acme")));
    }

    [Fact]
    public void A_live_segment_whose_last_frame_is_still_being_written_reads_without_error()
    {
        var live = _s.Live("acme", 1_767_322_801, [[T("checkout", 1)], [T("checkout", 2)]]);
        var torn = new byte[300];
        torn[2] = 0x10; // length 4096: runs past the end of the file
        File.AppendAllBytes(live.Path, torn);

        var result = _s.Reader().Query(new TraceQuery { Limit = 0 });

        Assert.Equal(2, result.TraceCount);
    }

    [Fact]
    public void A_live_segment_whose_header_is_still_being_written_holds_nothing_yet()
    {
        var live = _s.Live("acme", 1_767_322_801, [[T("checkout", 1)]]);
        var bytes = File.ReadAllBytes(live.Path);
        File.WriteAllBytes(live.Path, bytes[..40]);

        Assert.Empty(_s.Reader().ReadRecords("acme"));
    }

    [Fact]
    public void A_recovered_segment_without_its_end_frame_reads_and_one_with_a_torn_tail_is_truncated_segment()
    {
        var walseg = _s.Recovered("acme", 1_767_322_801, [[T("checkout", 1)], [T("cart", 2)]]);

        Assert.Equal(2, _s.Reader().Query(new TraceQuery { Limit = 0 }).TraceCount);

        File.AppendAllBytes(walseg.Path, [0, 0, 1, 0, 1, 2, 3]); // the collector cuts torn tails before it renames
        var e = Assert.Throws<StoreIntegrityException>(() => _s.Reader().ReadRecords("acme"));
        Assert.Equal((walseg.Path, "truncated_segment"), (e.ObjectPath, e.Code));
    }

    [Fact]
    public void A_complete_live_segment_and_the_block_it_became_are_read_once()
    {
        StoreRecord[][] frames = [[T("checkout", 1)], [T("cart", 2)]];
        var live = _s.Live("acme", 1_767_322_801, frames, close: true);
        var blockPath = Path.Combine(_s.Bucket("acme"), live.Stem + StoreFormat.BlockExtension);
        Directory.CreateDirectory(_s.Bucket("acme"));
        File.Copy(live.Path, blockPath); // what a reader may see while the writer renames: both names

        var records = _s.Reader().ReadRecords("acme");

        Assert.Equal(Contents(frames.SelectMany(f => f)), Contents(records));
        Assert.All(records, r => Assert.Equal(live.Path, r.ObjectPath)); // the block was skipped, not read again
    }

    [Fact]
    public void A_live_read_that_saw_part_of_a_log_gives_way_to_the_block_that_holds_all_of_it()
    {
        StoreRecord[][] frames = [[T("checkout", 1)], [T("cart", 2)], [T("cart", 3)]];
        var block = _s.Block("acme", frames);
        var earlier = File.ReadAllBytes(block.Path)[..(int)LogStore.IndexOf(block).Records[1].Offset]; // header and frame 0
        Directory.CreateDirectory(_s.WalDir("acme"));
        File.WriteAllBytes(Path.Combine(_s.WalDir("acme"), StoreFormat.LogSegmentFileName(1_767_322_801, block.ObjectId)), earlier);

        var records = _s.Reader().ReadRecords("acme");

        Assert.Equal(Contents(frames.SelectMany(f => f)), Contents(records));
        Assert.All(records, r => Assert.Equal(block.Path, r.ObjectPath));
    }

    [Fact]
    public void Objects_the_v1_writer_left_read_next_to_v2_ones()
    {
        StoreRecord[] folded = [T("checkout", 1), Log("v1 block")];
        var v1Block = _s.V1Block("acme", folded, [new IndexedSegment(1_700_000_000, 0xaabbccdd)]);
        var coveredSegment = _s.V1Segment("acme", 1_700_000_000, 0xaabbccdd, [folded]); // folded into the block: dropped
        var v1Recovered = _s.V1Segment("acme", 1_700_000_100, 0x11223344, [[T("cart", 2)], [T("cart", 3)]], recovered: true);
        var v1Live = _s.V1Segment("acme", 1_700_000_200, 0x55667788, [[T("checkout", 4)]]);
        _s.Block("acme", [[T("checkout", 5)]]);
        _s.Live("acme", 1_767_322_900, [[T("cart", 6)]]);

        var reader = _s.Reader();
        var records = reader.ReadRecords("acme");

        Assert.Equal(7, records.Count);
        Assert.Equal(Contents(folded), Contents(records.Where(r => r.ObjectPath == v1Block)));
        Assert.DoesNotContain(records, r => r.ObjectPath == coveredSegment);
        Assert.Equal(2, records.Count(r => r.ObjectPath == v1Recovered));
        Assert.Single(records, r => r.ObjectPath == v1Live);
        Assert.Equal(6, reader.Query(new TraceQuery { Limit = 0 }).TraceCount);
        Assert.Equal(1, reader.Query(new TraceQuery { TraceId = TraceId(1) }).SpanCount); // through the v1 index
        Assert.Equal(1, reader.Query(new TraceQuery { TraceId = TraceId(5) }).SpanCount); // through the v2 index
    }

    [Fact]
    public void Queries_answered_from_the_index_return_the_same_spans_as_a_full_read()
    {
        StoreRecord[][] frames = [[T("checkout", 1, 2)], [T("cart", 3)], [T("checkout", 4), T("cart", 5)], [T("cart", 2)]];
        _s.Block("acme", frames);
        var reader = _s.Reader();

        foreach (var query in new[]
                 {
                     new TraceQuery { TraceId = TraceId(2) },
                     new TraceQuery { Service = "cart", Limit = 0 },
                     new TraceQuery { From = At(20), Limit = 0 },
                     new TraceQuery { To = At(1), Limit = 0 },
                     new TraceQuery { TraceId = TraceId(9) },
                 })
        {
            var expected = Filter(frames, query);
            Assert.Equal(expected, reader.Query(query).Request);
        }
    }

    /// <summary>Span start times of trace n in StoreFixture.Request: 1_700_000_000 s + n ms.</summary>
    private static DateTimeOffset At(int trace) => DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000 + trace);

    /// <summary>What the query should return, computed without the store: the SpanMatcher applied to every record.</summary>
    private static ExportTraceServiceRequest Filter(StoreRecord[][] frames, TraceQuery query)
    {
        var all = new ExportTraceServiceRequest();
        foreach (var r in frames.SelectMany(f => f))
        {
            all.MergeFrom(ExportTraceServiceRequest.Parser.ParseFrom(r.Payload));
        }

        // The same spans as one record of a v1 block whose index prunes nothing: the matcher alone decides.
        using var plain = new LogStore();
        plain.V1Block("acme", [StoreRecord.Traces(all)], []);
        return plain.Reader().Query(query).Request;
    }
}
