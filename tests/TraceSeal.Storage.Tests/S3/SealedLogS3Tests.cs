using Amazon.S3.Model;
using TraceSeal.Query;
using TraceSeal.Sealing;
using TraceSeal.Storage.Objects;
using TraceSeal.Storage.Tests.TestSupport;
using TraceSeal.Tests.Shared;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;

namespace TraceSeal.Storage.Tests.S3;

/// <summary>
/// v2 blocks (sealed logs, docs/format.md §14) in a real S3-compatible bucket (s3rver): they read back through an
/// s3:// reader, and a trace-id query answered from the index fetches only that frame and the end frame, by range.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class SealedLogS3Tests(S3rverFixture s3) : IDisposable
{
    private readonly LogStore _s = new();
    private readonly string _prefix = "sealed-log-" + Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => _s.Dispose();

    [Fact]
    public async Task A_block_reads_back_through_s3_and_a_trace_id_query_fetches_one_frame_by_range()
    {
        var block = _s.Block("acme",
        [
            [StoreRecord.Traces(Request("checkout", [1]))],
            [StoreRecord.Traces(Request("cart", [2], children: true))],
            [StoreRecord.Traces(Request("checkout", [3]))],
        ]);
        var blockKey = await UploadAsync(block.Path);
        await UploadAsync(block.IndexPath);
        using var remote = new S3ObjectStore(S3rverFixture.Bucket, _prefix, s3.Endpoint, region: null, forcePathStyle: true, sseKmsKeyId: null);
        var store = new RangeCountingStore(remote);
        var reader = new StoreReader(store, [KeyFiles.LoadIdentity(_s.IdentityFile)], seesLiveWal: false);

        var one = reader.Query(new TraceQuery { TraceId = TraceId(2) });

        Assert.Equal(Merge(Request("cart", [2], children: true)), one.Request);
        Assert.Equal(2, reader.FramesOpened); // frame 1 and the end frame
        Assert.Equal(2, store.Ranges);
        Assert.DoesNotContain(store.WholeGets, key => key.EndsWith(".block", StringComparison.Ordinal));

        // A frame no match lives in, changed through the S3 API: the query by trace id never fetched it; a full read fails.
        using (var client = s3.Client())
        {
            var bytes = await File.ReadAllBytesAsync(block.Path);
            bytes[(int)LogStore.IndexOf(block).Records[0].Offset + 30] ^= 0x01;
            await client.PutObjectAsync(new PutObjectRequest { BucketName = S3rverFixture.Bucket, Key = blockKey, InputStream = new MemoryStream(bytes), UseChunkEncoding = false });
        }

        Assert.Equal(2, reader.Query(new TraceQuery { TraceId = TraceId(2) }).SpanCount);
        var e = Assert.Throws<StoreIntegrityException>(() => new StoreReader(
            new S3StoreLocation(S3rverFixture.Bucket, _prefix) { Endpoint = s3.Endpoint, ForcePathStyle = true },
            [KeyFiles.LoadIdentity(_s.IdentityFile)]).ReadRecords("acme"));
        Assert.Equal(($"s3://{S3rverFixture.Bucket}/{_prefix}/{Path.GetRelativePath(_s.Store, block.Path)}", "chunk_auth_failed"), (e.ObjectPath, e.Code));
    }

    /// <summary>Puts a local store file at its relative key under the prefix; returns the full key.</summary>
    private async Task<string> UploadAsync(string path)
    {
        var key = $"{_prefix}/{Path.GetRelativePath(_s.Store, path).Replace(Path.DirectorySeparatorChar, '/')}";
        using var client = s3.Client();
        await client.PutObjectAsync(new PutObjectRequest { BucketName = S3rverFixture.Bucket, Key = key, FilePath = path, UseChunkEncoding = false });
        return key;
    }

    /// <summary>Counts ranged reads, and the keys fetched whole.</summary>
    private sealed class RangeCountingStore(IObjectStore inner) : IObjectStore
    {
        public int Ranges { get; private set; }

        public List<string> WholeGets { get; } = [];

        public string Describe(string key) => inner.Describe(key);

        public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => inner.PutAsync(key, data, cancellationToken);

        public Task<byte[]?> GetAsync(string key, int? firstBytes, CancellationToken cancellationToken)
        {
            if (firstBytes is null)
            {
                WholeGets.Add(key);
            }

            return inner.GetAsync(key, firstBytes, cancellationToken);
        }

        public Task<byte[]?> GetRangeAsync(string key, long offset, int count, CancellationToken cancellationToken)
        {
            Ranges++;
            return inner.GetRangeAsync(key, offset, count, cancellationToken);
        }

        public Task<IReadOnlyList<ObjectEntry>> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);

        public Task DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);
    }
}
