using TraceSeal.Query;
using TraceSeal.Sealing;
using TraceSeal.Storage.Objects;
using TraceSeal.Storage.Tests.TestSupport;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;

namespace TraceSeal.Storage.Tests.SealedLog;

/// <summary>
/// With an index v2, a query it can answer (trace id, time range) opens only the frames holding matching records,
/// and the end frame — fetched by range, so on object storage the rest of the block is never downloaded.
/// </summary>
public sealed class SealedLogPruningTests : IDisposable
{
    private readonly LogStore _s = new();

    public void Dispose() => _s.Dispose();

    private WrittenLog FourFrames() => _s.Block("acme",
    [
        [StoreRecord.Traces(Request("checkout", [1]))],
        [StoreRecord.Traces(Request("checkout", [2]))],
        [StoreRecord.Traces(Request("cart", [3], children: true))],
        [StoreRecord.Traces(Request("cart", [4]))],
    ]);

    private CountingStore Counting() => new(new FileSystemObjectStore(_s.Store));

    private StoreReader Reader(IObjectStore store) => new(store, [KeyFiles.LoadIdentity(_s.IdentityFile)], seesLiveWal: true);

    [Fact]
    public void A_trace_id_query_opens_only_the_frame_of_that_trace_and_the_end_frame()
    {
        var block = FourFrames();
        var store = Counting();
        var reader = Reader(store);

        var result = reader.Query(new TraceQuery { TraceId = TraceId(3) });

        Assert.Equal(2, result.SpanCount);
        Assert.Equal(2, reader.FramesOpened);
        var index = LogStore.IndexOf(block);
        long frame = 4 + index.Records[2].FrameLength;
        Assert.Equal(frame + SealedLogWriter.EndFrameLength, store.RangeBytes);
        Assert.DoesNotContain(store.Gets, key => key.EndsWith(".block", StringComparison.Ordinal)); // never the whole block
    }

    [Fact]
    public void A_corrupted_frame_that_holds_no_match_does_not_fail_a_trace_id_query_and_fails_a_full_read()
    {
        var block = FourFrames();
        var index = LogStore.IndexOf(block);
        var bytes = File.ReadAllBytes(block.Path);
        bytes[(int)index.Records[0].Offset + 40] ^= 0x01; // inside frame 0
        File.WriteAllBytes(block.Path, bytes);

        Assert.Equal(1, _s.Reader().Query(new TraceQuery { TraceId = TraceId(4) }).SpanCount);

        var e = Assert.Throws<StoreIntegrityException>(() => _s.Reader().Query(new TraceQuery { Limit = 0 }));
        Assert.Equal((block.Path, "chunk_auth_failed"), (e.ObjectPath, e.Code));
    }

    [Fact]
    public void A_corrupted_frame_that_holds_the_match_fails_the_query_naming_the_frame()
    {
        var block = FourFrames();
        var index = LogStore.IndexOf(block);
        var bytes = File.ReadAllBytes(block.Path);
        bytes[(int)index.Records[1].Offset + 40] ^= 0x01;
        File.WriteAllBytes(block.Path, bytes);

        var e = Assert.Throws<StoreIntegrityException>(() => _s.Reader().Query(new TraceQuery { TraceId = TraceId(2) }));

        Assert.Equal((block.Path, "chunk_auth_failed"), (e.ObjectPath, e.Code));
        Assert.StartsWith($"{block.Path} frame 1 at offset {index.Records[1].Offset}: integrity error (chunk_auth_failed)", e.Message);
    }

    [Fact]
    public void A_time_range_query_opens_only_the_frames_whose_records_overlap_it()
    {
        FourFrames();
        var reader = _s.Reader();

        var result = reader.Query(new TraceQuery { To = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_002), Limit = 0 });

        Assert.Equal(2, result.TraceCount); // traces 1 and 2 start by then
        Assert.Equal(3, reader.FramesOpened);
    }

    [Fact]
    public void A_query_the_index_rules_out_opens_no_frame_and_one_it_cannot_narrow_reads_the_block()
    {
        FourFrames();
        var reader = _s.Reader();

        Assert.Equal(0, reader.Query(new TraceQuery { Service = "payments" }).SpanCount);
        Assert.Equal(0, reader.FramesOpened);

        Assert.Equal(3, reader.Query(new TraceQuery { Service = "cart", Limit = 0 }).SpanCount);
        Assert.Equal(5, reader.FramesOpened); // four data frames and the end frame: one read of the block
    }

    /// <summary>Counts what a reader fetches: whole objects by key, and bytes read by range.</summary>
    private sealed class CountingStore(IObjectStore inner) : IObjectStore
    {
        public List<string> Gets { get; } = [];

        public long RangeBytes { get; private set; }

        public string Describe(string key) => inner.Describe(key);

        public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => inner.PutAsync(key, data, cancellationToken);

        public Task<byte[]?> GetAsync(string key, int? firstBytes, CancellationToken cancellationToken)
        {
            if (firstBytes is null)
            {
                Gets.Add(key);
            }

            return inner.GetAsync(key, firstBytes, cancellationToken);
        }

        public async Task<byte[]?> GetRangeAsync(string key, long offset, int count, CancellationToken cancellationToken)
        {
            var bytes = await inner.GetRangeAsync(key, offset, count, cancellationToken);
            RangeBytes += bytes?.Length ?? 0;
            return bytes;
        }

        public Task<IReadOnlyList<ObjectEntry>> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);

        public Task DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);
    }
}
