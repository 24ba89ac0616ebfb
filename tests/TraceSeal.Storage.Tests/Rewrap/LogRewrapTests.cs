using TraceSeal.Cli.Commands;
using TraceSeal.Query;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Tests.TestSupport;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;

namespace TraceSeal.Storage.Tests.Rewrap;

/// <summary>
/// `traceseal keys rewrap` on v2 objects (sealed logs, docs/format.md §14) next to v1 ones: a log's one header is
/// rewrapped and its frames are copied byte for byte — the index's frame offsets still hold, though the header's
/// length changed — and every object reads back with the new identity.
/// </summary>
public sealed class LogRewrapTests : IDisposable
{
    private readonly LogStore _s = new();

    public void Dispose() => _s.Dispose();

    private static StoreRecord T(string service, params int[] traces) => StoreRecord.Traces(Request(service, traces));

    /// <summary>Traces 1-4 in a v2 block with index, 5-6 in a v2 .walseg, 7 in a live v2 .wal with a torn tail; 8 in a v1 block, 9 in a v1 .walseg, 10 in a v1 .wal.</summary>
    private (WrittenLog Block, WrittenLog Recovered, WrittenLog Live) BuildStore()
    {
        var block = _s.Block("acme", [[T("checkout", 1)], [T("cart", 2, 3)], [T("checkout", 4)]]);
        var recovered = _s.Recovered("acme", 1_767_322_801, [[T("checkout", 5)], [T("cart", 6)]]);
        var live = _s.Live("acme", 1_767_322_802, [[T("cart", 7)]]);
        File.AppendAllBytes(live.Path, [0, 0, 1, 0, 9, 9, 9]); // a frame the writer never finished
        _s.V1Block("acme", [T("checkout", 8)], []);
        _s.V1Segment("acme", 1_700_000_100, 0x11223344, [[T("cart", 9)]], recovered: true);
        _s.V1Segment("acme", 1_700_000_200, 0x55667788, [[T("cart", 10)]]);
        Assert.Equal(10, _s.Reader().Query(new TraceQuery { Limit = 0 }).TraceCount);
        return (block, recovered, live);
    }

    [Fact]
    public void Adding_a_recipient_rewraps_each_log_header_once_keeps_every_frame_and_the_new_identity_reads_everything()
    {
        var (block, recovered, live) = BuildStore();
        var before = new[] { block.Path, recovered.Path, live.Path }.ToDictionary(p => p, File.ReadAllBytes);

        var (code, output, error) = Rewrap([_s.IdentityFile], [_s.RecipientFile, _s.OtherRecipientFile]);

        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("rewrapped 8 object(s) in 8 file(s) (2 block, 2 index, 2 .walseg, 2 .wal); 0 object(s) skipped", output);
        Assert.Contains($"note {live.Path}: kept an incomplete last frame (7 bytes at offset {live.Length}, never acknowledged) as it is", output);
        foreach (var (path, old) in before)
        {
            var now = File.ReadAllBytes(path);
            var oldHeader = Sealer.ReadHeader(old);
            var newHeader = Sealer.ReadHeader(now);
            Assert.Equal(2, newHeader.Version);
            Assert.Equal(oldHeader.ObjectId, newHeader.ObjectId);
            Assert.Equal([Key(_s.RecipientFile), Key(_s.OtherRecipientFile)], newHeader.RecipientKeyIds);
            Assert.True(newHeader.HeaderLength > oldHeader.HeaderLength); // one more stanza: every frame moved
            Assert.Equal(old[oldHeader.HeaderLength..], now[newHeader.HeaderLength..]); // frames (and the torn tail) as they were
        }

        var other = _s.Reader(_s.OtherIdentityFile);
        Assert.Equal(10, other.Query(new TraceQuery { Limit = 0 }).TraceCount);
        Assert.Equal(9, other.ReadRecords("acme").Count); // one record per request: 3 + 2 + 1 in v2 logs, 3 in v1 objects
        var one = other.Query(new TraceQuery { TraceId = TraceId(3) }); // through the index v2: frame 1 opened by itself
        Assert.Equal(1, one.SpanCount);
        Assert.Equal(10, _s.Reader().Query(new TraceQuery { Limit = 0 }).TraceCount);

        var (again, secondOutput, _) = Rewrap([_s.IdentityFile], [_s.OtherRecipientFile, _s.RecipientFile]);
        Assert.Equal(0, again);
        Assert.Contains("rewrapped 0 object(s) in 0 file(s) (0 block, 0 index, 0 .walseg, 0 .wal); 8 object(s) skipped", secondOutput);
    }

    [Fact]
    public void After_removing_a_recipient_its_identity_opens_no_log()
    {
        var (block, _, _) = BuildStore();
        Assert.Equal(0, Rewrap([_s.IdentityFile], [_s.OtherRecipientFile]).Code);

        var e = Assert.Throws<StoreAccessException>(() => _s.Reader().ReadRecords("acme"));
        Assert.Contains($"wants recipients {Key(_s.OtherRecipientFile)}; you offered {Key(_s.RecipientFile)}", e.Message);
        Assert.Equal([Key(_s.OtherRecipientFile)], Sealer.ReadHeader(File.ReadAllBytes(block.Path)).RecipientKeyIds);
        Assert.Equal(10, _s.Reader(_s.OtherIdentityFile).Query(new TraceQuery { Limit = 0 }).TraceCount);
    }

    [Fact]
    public void A_tampered_frame_of_a_block_is_named_and_the_block_left_as_it_is()
    {
        var (block, _, _) = BuildStore();
        var bytes = File.ReadAllBytes(block.Path);
        bytes[^40] ^= 0x01; // inside the last data frame: only opening it can tell
        File.WriteAllBytes(block.Path, bytes);

        var (code, output, error) = Rewrap([_s.IdentityFile], [_s.RecipientFile, _s.OtherRecipientFile]);

        Assert.Equal(1, code);
        Assert.Contains($"error: {block.Path}: integrity error (chunk_auth_failed)", error);
        Assert.Contains("1 failed", output);
        Assert.Equal(bytes, File.ReadAllBytes(block.Path));
    }

    [Fact]
    public void A_log_under_another_name_is_name_mismatch_and_left_as_it_is()
    {
        var (_, recovered, _) = BuildStore();
        var renamed = Path.Combine(Path.GetDirectoryName(recovered.Path)!, StoreFormat.LogSegmentFileName(1_767_322_801, "0123456789abcdef0123456789abcdef", StoreFormat.RecoveredExtension));
        File.Move(recovered.Path, renamed);
        var bytes = File.ReadAllBytes(renamed);

        var (code, _, error) = Rewrap([_s.IdentityFile], [_s.RecipientFile, _s.OtherRecipientFile]);

        Assert.Equal(1, code);
        Assert.Contains($"error: {renamed}: integrity error (name_mismatch)", error);
        Assert.Equal(bytes, File.ReadAllBytes(renamed));
    }

    private (int Code, string Output, string Error) Rewrap(string[] identities, string[] recipients)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = KeysCommand.RunRewrap(
            _s.Store,
            [.. identities.Select(i => KeyFiles.LoadIdentity(i))],
            [.. recipients.Select(KeyFiles.LoadRecipient)],
            dryRun: false,
            output,
            error);
        return (code, output.ToString(), error.ToString());
    }

    private static string Key(string recipientFile) => KeyFiles.LoadRecipient(recipientFile).KeyId;
}
