using TraceSeal.Cli.Commands;
using TraceSeal.Query;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Tests.TestSupport;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;

namespace TraceSeal.Storage.Tests.Rewrap;

/// <summary>
/// `traceseal keys rewrap` on a store the sealed_store exporter wrote, holding every kind of file: a block and
/// its index, a recovered `.walseg` (crash, restart) and a live `.wal` (crash). Each file has one header (the
/// segments and the block are sealed logs, the index a sealed object): headers change, the bytes after them never.
/// </summary>
public sealed class RewrapTests : IDisposable
{
    private const int Traces = 7;
    private readonly StoreFixture _f = new();

    public RewrapTests()
    {
        OtherRecipient = Path.Combine(_f.Dir, "keys", "other.recipient.pem");
    }

    private string OtherRecipient { get; }

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Adding_a_recipient_lets_its_identity_read_everything_and_leaves_every_payload_byte_as_it_was()
    {
        await BuildStoreAsync();
        var before = Snapshot();
        Assert.Throws<StoreAccessException>(() => _f.Reader(_f.OtherIdentity).Query(new TraceQuery { Limit = 0 }));

        var (code, output, error) = Rewrap([_f.Identity], [_f.Recipient, OtherRecipient]);

        Assert.Equal(0, code);
        Assert.Equal("", error);
        var after = Snapshot();
        Assert.Equal(before.Keys, after.Keys);
        foreach (var (path, old) in before)
        {
            Assert.Equal(old.Payload, after[path].Payload); // not re-encrypted
            Assert.Equal(old.Info.ObjectId, after[path].Info.ObjectId);
            Assert.Equal([Key(_f.Recipient), Key(OtherRecipient)], after[path].Info.RecipientKeyIds);
        }

        Assert.Equal(Traces, _f.Reader(_f.OtherIdentity).Query(new TraceQuery { Limit = 0 }).TraceCount);
        Assert.Equal(Traces, _f.Reader().Query(new TraceQuery { Limit = 0 }).TraceCount);
        int objectCount = before.Count;
        // The block's summary (docs/format.md §15.1) is a sealed object of kind index: counted with the indexes.
        Assert.Contains($"rewrapped {objectCount} object(s) in 5 file(s) (1 block, 2 index, 1 .walseg, 1 .wal); 0 object(s) skipped", output);
        Assert.Contains("0 failed", output);
        Assert.All(_f.Files("*"), f => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f)));
        Assert.Empty(_f.Files("*.tmp"));

        // A second run finds nothing to do: an interrupted run can simply be repeated.
        var (again, secondOutput, _) = Rewrap([_f.Identity], [OtherRecipient, _f.Recipient]);
        Assert.Equal(0, again);
        Assert.Contains($"rewrapped 0 object(s) in 0 file(s) (0 block, 0 index, 0 .walseg, 0 .wal); {objectCount} object(s) skipped", secondOutput);
    }

    [Fact]
    public async Task After_removing_a_recipient_its_identity_opens_nothing_and_query_names_the_wanted_recipient()
    {
        await BuildStoreAsync();
        Assert.Equal(0, Rewrap([_f.Identity], [_f.Recipient, OtherRecipient]).Code);

        var (code, _, error) = Rewrap([_f.OtherIdentity], [OtherRecipient]);

        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.All(Snapshot().Values, o => Assert.Equal([Key(OtherRecipient)], o.Info.RecipientKeyIds));
        foreach (var file in _f.Files("*.block").Concat(_f.Files("*.index")).Concat(_f.Files("*.walseg")).Concat(_f.Files("*.wal")))
        {
            // Each file on its own, not only through the query path that stops at the first failure.
            Assert.Throws<NoIdentityMatchException>(() => OpenHeader(File.ReadAllBytes(file), _f.Identity));
        }

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(1, QueryCommand.Run(_f.Reader(), new TraceQuery { Limit = 0 }, "tree", stdout, stderr));
        Assert.Contains($"wants recipients {Key(OtherRecipient)}; you offered {Key(_f.Recipient)}", stderr.ToString());
        Assert.Equal(Traces, _f.Reader(_f.OtherIdentity).Query(new TraceQuery { Limit = 0 }).TraceCount);
    }

    [Fact]
    public async Task A_tampered_object_is_named_left_as_it_is_and_the_run_exits_1()
    {
        await BuildStoreAsync();
        var block = Assert.Single(_f.Files("*.block"));
        var bytes = File.ReadAllBytes(block);
        bytes[^40] ^= 0x01; // inside the last data frame's ciphertext (before its tag and the 20-byte end frame): only opening it can tell
        File.WriteAllBytes(block, bytes);

        var (code, output, error) = Rewrap([_f.Identity], [_f.Recipient, OtherRecipient]);

        Assert.Equal(1, code);
        Assert.Contains($"error: {block}: integrity error (chunk_auth_failed)", error);
        Assert.Contains("1 failed", output);
        Assert.Equal(bytes, File.ReadAllBytes(block));
        Assert.Equal([Key(_f.Recipient)], Sealer.ReadHeader(bytes).RecipientKeyIds);
        Assert.Equal(2, Sealer.ReadHeader(File.ReadAllBytes(Assert.Single(_f.Files("*.index")))).RecipientKeyIds.Count); // the rest went on
    }

    [Fact]
    public async Task A_store_locked_by_a_running_collector_is_refused_and_nothing_changes()
    {
        await BuildStoreAsync();
        await using var running = await _f.StartAsync();
        var during = _f.Files("*").Where(f => Path.GetFileName(f) != "store.lock").ToDictionary(f => f, File.ReadAllBytes);

        var e = Assert.Throws<InvalidOperationException>(() => Rewrap([_f.Identity], [_f.Recipient, OtherRecipient]));

        Assert.Contains($"store.lock is locked by a running collector or another rewrap); refusing to rewrap", e.Message);
        Assert.All(during, kv => Assert.Equal(kv.Value, File.ReadAllBytes(kv.Key)));
    }

    [Fact]
    public async Task A_dry_run_checks_everything_and_writes_nothing_and_tmp_files_are_skipped()
    {
        await BuildStoreAsync();
        var bucket = Path.GetDirectoryName(Assert.Single(_f.Files("*.block")))!;
        File.WriteAllBytes(Path.Combine(bucket, "0123456789abcdef.block.tmp"), [1, 2, 3]);
        var before = _f.Files("*").ToDictionary(f => f, File.ReadAllBytes);

        var (code, output, _) = Rewrap([_f.Identity], [OtherRecipient], dryRun: true);

        Assert.Equal(0, code);
        Assert.Contains("dry run, nothing written: would rewrap", output);
        Assert.Contains("1 file(s) skipped (.tmp or not a store object)", output);
        Assert.All(before, kv => Assert.Equal(kv.Value, File.ReadAllBytes(kv.Key)));
    }

    /// <summary>Traces 1-3 in a block (with index), 4-5 in a recovered .walseg, 6-7 in a live .wal.</summary>
    private async Task BuildStoreAsync()
    {
        await using (var first = await _f.StartAsync())
        {
            await first.ExportAsync(Batch(Request("checkout", [1, 2])), default);
            await first.ExportAsync(Batch(Request("cart", [3], children: true)), default);
            await first.CutBlocksAsync();
            await first.ExportAsync(Batch(Request("checkout", [4])), default);
            await first.ExportAsync(Batch(Request("checkout", [5])), default);
            await first.CrashAsync();
        }

        await using (var second = await _f.StartAsync())
        {
            await second.ExportAsync(Batch(Request("checkout", [6])), default);
            await second.ExportAsync(Batch(Request("cart", [7])), default);
            await second.CrashAsync();
        }

        Assert.Single(_f.Files("*.block"));
        Assert.Single(_f.Files("*.index"));
        Assert.Single(_f.Files("*.walseg"));
        Assert.Single(_f.Files("*.wal"));
        Assert.Equal(Traces, _f.Reader().Query(new TraceQuery { Limit = 0 }).TraceCount);
    }

    private (int Code, string Output, string Error) Rewrap(string[] identities, string[] recipients, bool dryRun = false)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = KeysCommand.RunRewrap(
            _f.Store,
            [.. identities.Select(i => KeyFiles.LoadIdentity(i))],
            [.. recipients.Select(KeyFiles.LoadRecipient)],
            dryRun,
            output,
            error);
        return (code, output.ToString(), error.ToString());
    }

    private static string Key(string recipientFile) => KeyFiles.LoadRecipient(recipientFile).KeyId;

    /// <summary>Every file of the store: its header fields and the bytes after its header (a log's frames, an object's payload).</summary>
    private Dictionary<string, (SealedObjectInfo Info, byte[] Payload)> Snapshot() =>
        _f.Files("*").Where(f => Path.GetFileName(f) != "store.lock").ToDictionary(
            f => f,
            f =>
            {
                var bytes = File.ReadAllBytes(f);
                var info = Sealer.ReadHeader(bytes);
                return (info, bytes[info.HeaderLength..]);
            });

    /// <summary>Unwraps a file's header with <paramref name="identityFile"/>: a sealed log's (docs/format.md §14) or a sealed object's.</summary>
    private static void OpenHeader(byte[] bytes, string identityFile)
    {
        IIdentity[] identities = [KeyFiles.LoadIdentity(identityFile)];
        if (StoreFormat.IsSealedLog(bytes))
        {
            SealedLogReader.Open(bytes, identities).Dispose();
        }
        else
        {
            Sealer.Open(bytes, identities, out _);
        }
    }
}
