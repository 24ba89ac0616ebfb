using Amazon.S3.Model;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Query;
using TraceSeal.Query.Compaction;
using TraceSeal.Sealing;
using TraceSeal.Storage.Objects;
using TraceSeal.Storage.Tests.Compaction;
using TraceSeal.Storage.Tests.TestSupport;
using TraceSeal.Tests.Shared;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;

namespace TraceSeal.Storage.Tests.S3;

/// <summary>
/// Issue 12 on a real S3-compatible server (s3rver): two collectors write one bucket, each under its own prefix, and
/// one reader sees both; compaction merges each prefix's buckets, and a pass killed at any step leaves a complete store
/// that the next pass finishes.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class S3CompactionTests(S3rverFixture s3) : IDisposable
{
    private readonly StoreFixture _a = new();
    private readonly StoreFixture _b = new();
    private readonly string _prefix = "shared-" + Guid.NewGuid().ToString("N")[..8];

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }

    private SealedStoreExporterSettings Settings(StoreFixture f, string? collectorId)
    {
        var fs = f.Settings();
        return new SealedStoreExporterSettings
        {
            Name = fs.Name,
            Directory = fs.Directory,
            Recipients = [_a.Recipient], // one reader key for the whole bucket
            Wal = fs.Wal,
            Block = fs.Block,
            CollectorId = collectorId,
            S3 = new S3StoreSettings { Bucket = S3rverFixture.Bucket, Prefix = _prefix, Endpoint = s3.Endpoint, ForcePathStyle = true },
        };
    }

    private S3StoreLocation Location => new(S3rverFixture.Bucket, _prefix) { Endpoint = s3.Endpoint, ForcePathStyle = true };

    private IObjectStore Remote() => Location.CreateStore();

    private StoreReader Reader() => new(Location, [KeyFiles.LoadIdentity(_a.Identity)]);

    private StoreCompactor Compactor(IObjectStore? store = null) =>
        new(store ?? Remote(), [KeyFiles.LoadIdentity(_a.Identity)], [KeyFiles.LoadRecipient(_a.Recipient)], new CompactionOptions { MinAge = TimeSpan.Zero });

    private async Task<Dictionary<string, int>> WriteAsync(StoreFixture f, string? collectorId, int first, int count)
    {
        await using var exporter = await f.StartAsync(Settings(f, collectorId));
        var sent = new Dictionary<string, int>();
        for (int n = first; n < first + count; n++)
        {
            Assert.Equal(SinkResult.Ok, await exporter.ExportAsync(Batch(Request("checkout", [n], children: n % 2 == 0)), default));
            await exporter.CutBlocksAsync();
            sent[Convert.ToHexStringLower(TraceId(n))] = n % 2 == 0 ? 2 : 1;
        }

        await exporter.Uploader!.FlushAsync();
        return sent;
    }

    [Fact]
    public async Task Two_collectors_write_one_bucket_under_their_own_prefixes_and_one_reader_sees_both()
    {
        var sentA = await WriteAsync(_a, "edge-a", first: 1, count: 3);
        var sentB = await WriteAsync(_b, collectorId: null, first: 100, count: 2);
        var generated = File.ReadAllText(Path.Combine(_b.Store, "collector.id")).Trim();

        var keys = await s3.KeysAsync(_prefix + "/");
        Assert.Equal(9, keys.Count(k => k.StartsWith($"{_prefix}/collectors/edge-a/blocks/acme/", StringComparison.Ordinal)));
        Assert.Equal(6, keys.Count(k => k.StartsWith($"{_prefix}/collectors/{generated}/blocks/acme/", StringComparison.Ordinal)));
        Assert.Matches("^[0-9a-f]{16}$", generated);

        var both = sentA.Concat(sentB).ToDictionary();
        Assert.Equal(both, CompactionTests.Spans(Reader()));
        Assert.Equal(["acme"], Reader().Tenants());
        Assert.Equal(2, Reader().Query(new TraceQuery { TraceId = TraceId(100) }).SpanCount);

        // The same collector directory keeps its id at the next start.
        await WriteAsync(_b, collectorId: null, first: 200, count: 1);
        Assert.Equal(generated, File.ReadAllText(Path.Combine(_b.Store, "collector.id")).Trim());

        var report = Compactor().Run();
        Assert.Equal((6, 2), (report.BlocksMerged, report.BlocksWritten)); // one merge per collector prefix
        Assert.Equal(8, (await s3.KeysAsync(_prefix + "/")).Count);
        both[Convert.ToHexStringLower(TraceId(200))] = 2;
        Assert.Equal(both, CompactionTests.Spans(Reader()));
    }

    [Fact]
    public async Task A_compaction_killed_at_any_step_on_s3_leaves_a_complete_store_and_the_next_pass_finishes()
    {
        var sent = await WriteAsync(_a, "edge-a", first: 1, count: 3);
        var pristine = new Dictionary<string, byte[]>();
        var remote = Remote();
        foreach (var entry in await remote.ListAsync("", default))
        {
            pristine[entry.Key] = (await remote.GetAsync(entry.Key, null, default))!;
        }

        // 3 blocks: 4 puts and 9 deletes. Crash at every third step, and run once without a crash.
        foreach (int steps in new[] { 0, 2, 3, 4, 7, 10, 13 })
        {
            foreach (var entry in await remote.ListAsync("", default))
            {
                await remote.DeleteAsync(entry.Key, default);
            }

            foreach (var (key, bytes) in pristine)
            {
                await remote.PutAsync(key, bytes, default);
            }

            try
            {
                Compactor(new CrashingStore(remote, steps)).Run();
                Assert.Equal(13, steps);
            }
            catch (SimulatedCrash)
            {
                Assert.NotEqual(13, steps);
            }

            Assert.Equal(sent, CompactionTests.Spans(Reader()));
            Compactor().Run();
            Assert.Equal(sent, CompactionTests.Spans(Reader()));
            Assert.Equal(4, (await remote.ListAsync("", default)).Count);
        }
    }

    [Fact]
    public async Task A_manifest_changed_through_the_s3_api_is_an_integrity_error()
    {
        await WriteAsync(_a, "edge-a", first: 1, count: 2);
        Compactor().Run();
        var key = (await s3.KeysAsync(_prefix + "/")).Single(k => k.EndsWith(".manifest", StringComparison.Ordinal));
        using var client = s3.Client();
        var bytes = (await Remote().GetAsync(key[(_prefix.Length + 1)..], null, default))!;
        bytes[^30] ^= 0x01;
        await client.PutObjectAsync(new PutObjectRequest { BucketName = S3rverFixture.Bucket, Key = key, InputStream = new MemoryStream(bytes), UseChunkEncoding = false });

        var e = Assert.Throws<StoreIntegrityException>(() => Reader().Query(new TraceQuery { TraceId = TraceId(1) }));
        Assert.Equal(($"s3://{S3rverFixture.Bucket}/{key}", "chunk_auth_failed"), (e.ObjectPath, e.Code));
    }
}
