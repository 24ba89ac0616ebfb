using Google.Protobuf;
using TraceSeal.Query;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Tests.TestSupport;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;

namespace TraceSeal.Storage.Tests.Query;

/// <summary>
/// A query's spans come back in time order, whatever order the store's objects are read in (by creation second,
/// then by a name that is a random id: two v2 blocks cut in the same second are read in either order).
/// </summary>
public sealed class ResultOrderTests : IDisposable
{
    private readonly LogStore _s = new();

    public void Dispose() => _s.Dispose();

    [Fact]
    public void Spans_come_back_by_their_start_time_not_in_the_order_their_objects_are_read()
    {
        var late = Request("checkout", [5]);
        var early = Request("cart", [1, 2], children: true);
        _s.V1Block("acme", [StoreRecord.Traces(late)], [new IndexedSegment(1_700_000_000, 0xaabbccdd)]); // a 2023 WAL sequence number
        _s.Block("acme", [[StoreRecord.Traces(early)]]); // a v2 header created now
        var reader = _s.Reader();
        Assert.Equal(late.ToByteArray(), reader.ReadRecords("acme")[0].Payload.ToArray()); // read first

        var result = reader.Query(new TraceQuery { Limit = 0 });

        Assert.Equal(Merge(early, late), result.Request);
    }
}
