using TraceSeal.Cli.Commands;
using TraceSeal.Query;
using TraceSeal.Query.Compaction;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Objects;
using TraceSeal.Storage.Tests.TestSupport;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;

namespace TraceSeal.Storage.Tests.SealedLog;

/// <summary>
/// Records of version 2 (docs/format.md §14.12: a WAL that forwarders read names, in each record, the forwarders it is
/// for) next to version 1 records in the same frames and stores: the reader, the index, `keys rewrap` and compaction
/// read both alike, and nothing but a forwarder looks at the consumer list.
/// </summary>
public sealed class RecordVersionTests : IDisposable
{
    private static readonly byte[] ForGateway = StoreFormat.EncodeConsumers([StoreFormat.ConsumerId("otlp/gw")]);
    private static readonly byte[] ForNobody = StoreFormat.EncodeConsumers([]);

    private readonly LogStore _s = new();

    public void Dispose() => _s.Dispose();

    private static StoreRecord T(int trace, byte[]? consumers = null) => StoreRecord.Traces(Request("checkout", [trace])) with { Consumers = consumers };

    /// <summary>Traces 1-4 in a block whose frames mix both versions, 5-6 in a second block, 7 in a recovered segment, 8 in a live one, 9 in a v1 block.</summary>
    private void BuildStore()
    {
        _s.Block("acme", [[T(1), T(2, ForGateway)], [T(3, ForNobody), T(4)]]);
        _s.Block("acme", [[T(5, ForGateway)], [T(6, ForGateway)]]);
        _s.Recovered("acme", 1_767_322_801, [[T(7, ForNobody)]]);
        _s.Live("acme", 1_767_322_802, [[T(8, ForGateway)]]);
        _s.V1Block("acme", [T(9)], []);
    }

    [Fact]
    public void Every_reader_path_reads_records_of_both_versions_alike()
    {
        BuildStore();
        var reader = _s.Reader();

        Assert.Equal(9, reader.Query(new TraceQuery { Limit = 0 }).TraceCount);
        Assert.Equal(9, reader.ReadRecords("acme").Count);
        Assert.All(reader.ReadRecords("acme"), r => Assert.Equal(TraceSeal.Otlp.OtlpSignal.Traces, r.Signal));
        foreach (int trace in (int[])[2, 3, 4, 6])
        {
            // Through the index: the record located by its frame and offset, whichever version it is.
            Assert.Equal(1, reader.Query(new TraceQuery { TraceId = TraceId(trace) }).SpanCount);
        }
    }

    [Fact]
    public void Rewrap_and_compaction_keep_records_of_both_versions_readable()
    {
        BuildStore();
        var output = new StringWriter();
        var error = new StringWriter();
        int code = KeysCommand.RunRewrap(
            _s.Store, [KeyFiles.LoadIdentity(_s.IdentityFile)], [KeyFiles.LoadRecipient(_s.RecipientFile), KeyFiles.LoadRecipient(_s.OtherRecipientFile)], dryRun: false, output, error);
        Assert.Equal((0, ""), (code, error.ToString()));
        Assert.Equal(9, _s.Reader(_s.OtherIdentityFile).Query(new TraceQuery { Limit = 0 }).TraceCount);

        var report = new StoreCompactor(
            new FileSystemObjectStore(_s.Store), [KeyFiles.LoadIdentity(_s.IdentityFile)], [KeyFiles.LoadRecipient(_s.RecipientFile)], new CompactionOptions { MinAge = TimeSpan.Zero }).Run();

        Assert.True(report.BlocksMerged >= 2, $"{report.BlocksMerged} blocks merged");
        var reader = _s.Reader();
        Assert.Equal(9, reader.Query(new TraceQuery { Limit = 0 }).TraceCount);
        Assert.Equal(1, reader.Query(new TraceQuery { TraceId = TraceId(2) }).SpanCount);
        Assert.Equal(1, reader.Query(new TraceQuery { TraceId = TraceId(6) }).SpanCount);
    }
}
