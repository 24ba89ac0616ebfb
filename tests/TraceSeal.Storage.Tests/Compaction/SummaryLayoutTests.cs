using TraceSeal.Storage.Format;

namespace TraceSeal.Storage.Tests.Compaction;

/// <summary>
/// Golden bytes of the summary and manifest layouts (docs/format.md §15.5): the vectors in the spec are what the code
/// writes, they decode back to the same fields, and the trace-id filter answers as §15.1 says.
/// </summary>
public sealed class SummaryLayoutTests
{
    /// <summary>docs/format.md §15.5: the index of a one-record block with trace ids a0…01 and a0…02.</summary>
    private static BlockIndex VectorIndex() => new()
    {
        Version = StoreFormat.IndexVersion2,
        BlockObjectId = Convert.FromHexString("000102030405060708090a0b0c0d0e0f"),
        BlockSealedLength = 1000,
        BlockPlainLength = 1,
        MinStart = 1_700_000_000_000_000_000,
        MaxEnd = 1_700_000_000_005_000_000,
        MinDuration = 5_000_000,
        MaxDuration = 5_000_000,
        Segments = [],
        Records = [new IndexedRecord(0, 300, 120, 2, 1_700_000_000_000_000_000, 1_700_000_000_005_000_000) { FrameLength = 141 }],
        Services = ["checkout"],
        Names = ["GET /cart"],
        Traces = [new IndexedTrace(Id(1), 0), new IndexedTrace(Id(2), 0)],
    };

    private static readonly byte[] Seed = Convert.FromHexString("101112131415161718191a1b1c1d1e1f");

    private const string SummaryHex =
        "5453534d01000102030405060708090a0b0c0d0e0f00000000000003e8000000000000000117979cfe362a000017979c" +
        "fe36764b4000000000004c4b4000000000004c4b4000000000000000000200000002000000010008636865636b6f7574" +
        "000000010009474554202f6361727400000000101112131415161718191a1b1c1d1e1f07000000088430025009802044";

    [Fact]
    public void A_summary_encodes_to_the_spec_vector_and_decodes_to_the_same_fields()
    {
        var summary = BlockSummary.FromIndex(VectorIndex(), [], Seed);
        var hex = Convert.ToHexStringLower(summary.Encode());

        Assert.Equal(SummaryHex, hex);
        Assert.Equal(VectorFilter, Convert.ToHexStringLower(summary.Filter));
        Assert.True(BlockSummary.TryDecode(summary.Encode(), out var decoded));
        Assert.Equal(hex, Convert.ToHexStringLower(decoded!.Encode()));
        Assert.Equal(("0001020304050607", 2UL, 2U, false), (decoded.Stem, decoded.SpanCount, decoded.TraceCount, decoded.IsCompacted));
    }

    private const string VectorFilter = "8430025009802044";

    [Fact]
    public void The_filter_holds_every_indexed_trace_id_and_its_hashes_are_the_spec_vector()
    {
        var summary = BlockSummary.FromIndex(VectorIndex(), [], Seed);

        Assert.True(summary.MayContain(Id(1)));
        Assert.True(summary.MayContain(Id(2)));
        var (h1, h2) = BlockSummary.Hash(0x1011121314151617, 0x18191a1b1c1d1e1f, Id(1));
        Assert.Equal(("cb1b0a1376806f82", "8b6cec79b62a22cf"), (h1.ToString("x16"), h2.ToString("x16")));
    }

    [Fact]
    public void Ten_thousand_absent_ids_hit_a_full_filter_about_one_percent_of_the_time()
    {
        var traces = Enumerable.Range(1, 5000).Select(i => new IndexedTrace(Id(i), 0)).ToArray();
        var index = VectorIndex();
        var summary = BlockSummary.FromIndex(new BlockIndex
        {
            Version = index.Version, BlockObjectId = index.BlockObjectId, BlockSealedLength = 1, BlockPlainLength = 1,
            Segments = [], Records = index.Records, Services = [], Names = [], Traces = traces,
        }, []);

        Assert.All(traces, t => Assert.True(summary.MayContain(t.TraceId)));
        int hits = Enumerable.Range(100_000, 10_000).Count(i => summary.MayContain(Id(i)));
        Assert.InRange(hits, 0, 300); // 1% expected; 3% would mean the filter is sized or hashed wrong
    }

    [Fact]
    public void A_manifest_encodes_to_the_spec_vector_and_any_change_of_length_is_malformed()
    {
        var summary = BlockSummary.FromIndex(VectorIndex(), [Convert.FromHexString("ffeeddccbbaa99887766554433221100")], Seed);
        var manifest = new BucketManifest { Generation = 1, Bucket = "blocks/acme/2026/12/06/11", Entries = [summary] };
        var bytes = manifest.Encode();

        Assert.Equal(ManifestHex, Convert.ToHexStringLower(bytes));
        Assert.True(BucketManifest.TryDecode(bytes, out var decoded));
        Assert.Equal(("blocks/acme/2026/12/06/11", 1UL, 1), (decoded!.Bucket, decoded.Generation, decoded.Entries.Count));
        Assert.True(decoded.Entries[0].IsCompacted);
        Assert.False(BucketManifest.TryDecode(bytes.AsSpan(0, bytes.Length - 1), out _));
        Assert.False(BucketManifest.TryDecode([.. bytes, 0], out _));
        Assert.Equal("manifest-0000000001.manifest", BucketManifest.FileName(1));
        Assert.False(BucketManifest.TryParseFileName("manifest-1.manifest", out _));
    }

    private const string ManifestHex =
        "54534d460100000000000000010019626c6f636b732f61636d652f323032362f31322f30362f313100000001000000a0" +
        "5453534d01000102030405060708090a0b0c0d0e0f00000000000003e8000000000000000117979cfe362a000017979c" +
        "fe36764b4000000000004c4b4000000000004c4b4000000000000000000200000002000000010008636865636b6f7574" +
        "000000010009474554202f6361727400000001ffeeddccbbaa99887766554433221100101112131415161718191a1b1c" +
        "1d1e1f07000000088430025009802044";

    private static UInt128 Id(int n) => new(0xA000000000000000UL, (ulong)n);
}
