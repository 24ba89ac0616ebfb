using System.Net;
using System.Net.Sockets;
using System.Text;
using Amazon.S3.Model;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage;
using TraceSeal.Query;
using TraceSeal.Sealing;
using TraceSeal.Storage.Log;
using TraceSeal.Storage.Objects;
using TraceSeal.Storage.Tests.TestSupport;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;
using TraceSeal.Tests.Shared;

namespace TraceSeal.Storage.Tests.S3;

/// <summary>
/// `sealed_store::s3` against a real S3-compatible server (s3rver on loopback): blocks and indexes go to the
/// bucket after the cut (the block is the closed WAL segment, renamed under the local `blocks/` first), the local
/// copies only go once they are there, `query --store s3://` reads them back, the server's disk holds nothing
/// readable, and a changed object is an integrity error naming its key.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class S3StoreTests(S3rverFixture s3) : IDisposable
{
    private const string Service = "s3-checkout-9c1d";
    private readonly StoreFixture _f = new();
    private readonly string _prefix = "collector-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _marker = "MARKER-" + Guid.NewGuid().ToString("N");

    public void Dispose() => _f.Dispose();

    private SealedStoreExporterSettings Settings(string? kmsKey = null, long backlog = 1L << 30)
    {
        var fs = _f.Settings(backlog: backlog);
        return new SealedStoreExporterSettings
        {
            Name = fs.Name,
            Directory = fs.Directory,
            Recipients = fs.Recipients,
            Wal = fs.Wal,
            Block = fs.Block,
            S3 = new S3StoreSettings { Bucket = S3rverFixture.Bucket, Prefix = _prefix + "/", Endpoint = s3.Endpoint, ForcePathStyle = true, SseKmsKeyId = kmsKey },
        };
    }

    private StoreReader S3Reader(string? identity = null) => new(
        new S3StoreLocation(S3rverFixture.Bucket, _prefix) { Endpoint = s3.Endpoint, ForcePathStyle = true },
        [KeyFiles.LoadIdentity(identity ?? _f.Identity)]);

    private async Task<(List<string> Keys, OpenTelemetry.Proto.Collector.Trace.V1.ExportTraceServiceRequest Sent)> TwoBlocksAsync(string? kmsKey = null)
    {
        await using var exporter = await _f.StartAsync(Settings(kmsKey));
        var a = Request(Service, [1, 2], children: true, marker: _marker);
        var b = Request(Service, [3], marker: _marker);
        Assert.Equal(SinkResult.Ok, await exporter.ExportAsync(Batch(a), default));
        await exporter.CutBlocksAsync();
        Assert.Equal(SinkResult.Ok, await exporter.ExportAsync(Batch(b), default));
        await exporter.CutBlocksAsync();
        await exporter.Uploader!.FlushAsync();

        // Both uploads done → no WAL segment left, and the local copies of blocks and indexes are gone.
        Assert.Empty(_f.Files("*.wal"));
        Assert.Empty(_f.Files("*.block"));
        Assert.Empty(_f.Files("*.index"));
        return (await s3.KeysAsync(_prefix + "/"), Merge(a, b));
    }

    [Fact]
    public async Task Spans_go_to_the_bucket_after_a_block_cut_and_come_back_through_an_s3_reader()
    {
        var (keys, sent) = await TwoBlocksAsync();

        // Under this collector's own prefix (docs/format.md §15.3): the id it generated and keeps in its directory.
        var id = File.ReadAllText(Path.Combine(_f.Store, "collector.id")).Trim();
        Assert.Equal(6, keys.Count);
        Assert.All(keys, k => Assert.Matches($@"^collector-[0-9a-f]{{8}}/collectors/{id}/blocks/acme/\d{{4}}/\d{{2}}/\d{{2}}/\d{{2}}/[0-9a-f]{{16}}\.(block|index|summary)$", k));
        Assert.Equal(2, keys.Count(k => k.EndsWith(".block", StringComparison.Ordinal)));
        foreach (var block in keys.Where(k => k.EndsWith(".block", StringComparison.Ordinal)))
        {
            Assert.Contains(block[..^".block".Length] + ".index", keys);
            Assert.Contains(block[..^".block".Length] + ".summary", keys);
        }

        var reader = S3Reader();
        Assert.False(reader.SeesLiveWal);
        Assert.Equal(["acme"], reader.Tenants());
        Assert.Equal(sent, reader.Query(new TraceQuery { Limit = 0 }).Request);
        var one = reader.Query(new TraceQuery { TraceId = TraceId(2) });
        Assert.Equal(2, one.SpanCount);
        Assert.Equal(3, reader.Query(new TraceQuery { Attributes = [new("marker", _marker)] }).SpanCount);

        // What `traceseal query --store s3://...` prints: the spans, and on stderr that live WALs are not in the bucket.
        using var output = new StringWriter();
        using var error = new StringWriter();
        Assert.Equal(0, Cli.Commands.QueryCommand.Run(reader, new TraceQuery { TraceId = TraceId(1) }, "json", output, error));
        Assert.Contains(Convert.ToHexStringLower(TraceId(1)), output.ToString(), StringComparison.Ordinal);
        Assert.Contains("local WALs", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nothing_on_the_S3_servers_disk_contains_the_marker_trace_ids_or_service_name()
    {
        await TwoBlocksAsync();

        var needles = new List<(string What, byte[] Bytes)>
        {
            ("marker", Encoding.UTF8.GetBytes(_marker)),
            ("service name", Encoding.UTF8.GetBytes(Service)),
        };
        foreach (var t in new[] { 1, 2, 3 })
        {
            needles.Add(($"trace id {t} (raw)", TraceId(t)));
            needles.Add(($"trace id {t} (hex)", Encoding.ASCII.GetBytes(Convert.ToHexStringLower(TraceId(t)))));
            needles.Add(($"trace id {t} (HEX)", Encoding.ASCII.GetBytes(Convert.ToHexString(TraceId(t)))));
            needles.Add(($"trace id {t} (base64)", Encoding.ASCII.GetBytes(Convert.ToBase64String(TraceId(t)))));
        }

        var files = Directory.GetFiles(s3.DataDirectory, "*", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(_f.Store, "*", SearchOption.AllDirectories)).ToList();
        Assert.Contains(files, f => f.Contains(_prefix, StringComparison.Ordinal)); // our objects are there to scan
        foreach (var file in files)
        {
            Assert.DoesNotContain(_marker, file, StringComparison.Ordinal);
            Assert.DoesNotContain(Service, file, StringComparison.Ordinal);
            foreach (var view in PlaintextScanTests.Views(File.ReadAllBytes(file)))
            {
                foreach (var (what, needle) in needles)
                {
                    Assert.False(view.Bytes.AsSpan().IndexOf(needle) >= 0, $"{file}: {what} found {view.How}");
                }
            }
        }
    }

    [Theory]
    [InlineData(".block")]
    [InlineData(".index")]
    public async Task An_object_changed_through_the_S3_API_is_an_integrity_error_naming_its_key(string extension)
    {
        var (keys, _) = await TwoBlocksAsync();
        var key = keys.First(k => k.EndsWith(extension, StringComparison.Ordinal));
        var where = ""; // a block's message names the frame (docs/format.md §14.6), an index's the object alone
        using (var client = s3.Client())
        {
            byte[] bytes;
            using (var get = await client.GetObjectAsync(S3rverFixture.Bucket, key))
            using (var buffer = new MemoryStream())
            {
                await get.ResponseStream.CopyToAsync(buffer);
                bytes = buffer.ToArray();
            }

            // Ciphertext either way: of the index's last chunk (a sealed object), of the block's frame 0 (a sealed log).
            if (extension == ".block")
            {
                var frame = LogScan.Scan(bytes).Frames[0];
                bytes[frame.Offset + LogScan.PrefixLength + 1] ^= 0x01;
                where = $" frame 0 at offset {frame.Offset}";
            }
            else
            {
                bytes[^20] ^= 0x01;
            }

            await client.PutObjectAsync(new PutObjectRequest { BucketName = S3rverFixture.Bucket, Key = key, InputStream = new MemoryStream(bytes), UseChunkEncoding = false });
        }

        var e = Assert.Throws<StoreIntegrityException>(() => S3Reader().Query(new TraceQuery()));
        Assert.Equal($"s3://{S3rverFixture.Bucket}/{key}", e.ObjectPath);
        Assert.Equal("chunk_auth_failed", e.Code);
        Assert.StartsWith($"s3://{S3rverFixture.Bucket}/{key}{where}: integrity error (chunk_auth_failed)", e.Message);
    }

    [Fact]
    public async Task A_deleted_block_is_reported_by_its_index()
    {
        var (keys, _) = await TwoBlocksAsync();
        var block = keys.First(k => k.EndsWith(".block", StringComparison.Ordinal));
        using (var client = s3.Client())
        {
            await client.DeleteObjectAsync(S3rverFixture.Bucket, block);
        }

        var e = Assert.Throws<StoreIntegrityException>(() => S3Reader().Query(new TraceQuery()));
        Assert.Equal($"s3://{S3rverFixture.Bucket}/{block[..^".block".Length]}.index", e.ObjectPath);
        Assert.Equal("block_missing", e.Code);
    }

    [Fact]
    public async Task While_uploads_fail_the_cut_block_is_kept_on_local_disk_and_goes_up_once_the_store_answers()
    {
        using var real = new S3ObjectStore(S3rverFixture.Bucket, _prefix, s3.Endpoint, null, forcePathStyle: true, sseKmsKeyId: null);
        var flaky = new GatedStore(real);
        var a = Request(Service, Enumerable.Range(1, 300).ToArray());
        var big = Request(Service, Enumerable.Range(1000, 300).ToArray());

        // Room for either request alone, not for `big` while `a`'s block waits for its upload (sealed: larger than a).
        var settings = Settings(backlog: a.CalculateSize() + big.CalculateSize() + 10);
        await using var exporter = new SealedStoreExporter("sealed_store", settings, [KeyFiles.LoadRecipient(_f.Recipient)],
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, remote: flaky);
        await exporter.StartAsync(default);
        Assert.Equal(SinkResult.Ok, await exporter.ExportAsync(Batch(a), default)); // acknowledged without S3
        await exporter.CutBlocksAsync();
        await flaky.FirstFailure;

        // The upload failed: the block and its index stay under the local blocks/, and their backlog still counts.
        Assert.Empty(_f.Files("*.wal"));
        Assert.Single(_f.Files("*.block"));
        Assert.Single(_f.Files("*.index"));
        Assert.Empty(await s3.KeysAsync(_prefix + "/"));
        var refused = await exporter.ExportAsync(Batch(big), default);
        Assert.False(refused.Accepted);
        Assert.True(refused.RetryAfter > TimeSpan.Zero);

        flaky.Open();
        await exporter.Uploader!.FlushAsync();
        Assert.Empty(_f.Files("*.block"));
        Assert.Empty(_f.Files("*.index"));
        Assert.Equal(3, (await s3.KeysAsync(_prefix + "/")).Count); // block, index, summary
        Assert.Equal(SinkResult.Ok, await exporter.ExportAsync(Batch(big), default)); // the backlog was released
        Assert.Equal(Merge(a), S3Reader().Query(new TraceQuery { Limit = 0 }).Request); // `big` is still in the local WAL
    }

    [Fact]
    public async Task A_crash_before_the_upload_leaves_the_block_on_local_disk_and_the_next_start_uploads_it()
    {
        using var real = new S3ObjectStore(S3rverFixture.Bucket, _prefix, s3.Endpoint, null, forcePathStyle: true, sseKmsKeyId: null);
        var down = new GatedStore(real);
        var exporter = new SealedStoreExporter("sealed_store", Settings(), [KeyFiles.LoadRecipient(_f.Recipient)],
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, remote: down);
        await exporter.StartAsync(default);
        var a = Request(Service, [4], children: true);
        Assert.Equal(SinkResult.Ok, await exporter.ExportAsync(Batch(a), default));
        await exporter.CutBlocksAsync();
        await down.FirstFailure;
        await exporter.CrashAsync();
        Assert.Empty(_f.Files("*.wal"));
        var block = Path.GetRelativePath(_f.Store, Assert.Single(_f.Files("*.block"))).Replace(Path.DirectorySeparatorChar, '/');
        Assert.Single(_f.Files("*.index"));

        // Next start, S3 reachable: what the local blocks/ holds is uploaded under the same keys below the collector's
        // prefix, and removed locally.
        await using (var restarted = await _f.StartAsync(Settings()))
        {
            await restarted.Uploader!.FlushAsync();
        }

        Assert.Empty(_f.Files("*.block"));
        Assert.Empty(_f.Files("*.index"));
        var at = $"{_prefix}/collectors/{File.ReadAllText(Path.Combine(_f.Store, "collector.id")).Trim()}/{block[..^".block".Length]}";
        Assert.Equal([at + ".block", at + ".index", at + ".summary"], await s3.KeysAsync(_prefix + "/"));
        Assert.Equal(Merge(a), S3Reader().Query(new TraceQuery()).Request);
    }

    [Fact]
    public async Task Retention_by_size_deletes_uploaded_blocks_and_indexes_from_the_bucket()
    {
        var fs = _f.Settings();
        var settings = Settings();
        await using var exporter = await _f.StartAsync(new SealedStoreExporterSettings
        {
            Name = fs.Name, Directory = fs.Directory, Recipients = fs.Recipients, Wal = fs.Wal, Block = fs.Block, S3 = settings.S3,
            Retention = new StoreRetentionSettings { MaxBytes = 1 }, // keeps nothing: every unit is over
        });
        Assert.Equal(SinkResult.Ok, await exporter.ExportAsync(Batch(Request(Service, [1])), default));
        await exporter.CutBlocksAsync();
        await exporter.Uploader!.FlushAsync();
        Assert.Equal(3, (await s3.KeysAsync(_prefix + "/")).Count);

        exporter.Uploader.RequestRetention(now: true);
        await exporter.Uploader.FlushAsync();
        Assert.Empty(await s3.KeysAsync(_prefix + "/"));
    }

    [Fact]
    public async Task With_sse_kms_key_id_uploads_to_s3rver_still_succeed()
    {
        // s3rver accepts and ignores the SSE headers; that the headers are sent is checked on the wire below.
        var (keys, sent) = await TwoBlocksAsync(kmsKey: "alias/traceseal-test");
        Assert.Equal(6, keys.Count);
        Assert.Equal(sent, S3Reader().Query(new TraceQuery { Limit = 0 }).Request);
    }

    [Theory]
    [InlineData("alias/traceseal-test")]
    [InlineData(null)]
    public async Task The_sse_kms_headers_are_on_the_PUT_exactly_when_a_key_is_configured(string? kmsKey)
    {
        // A one-shot HTTP listener that records the request head and answers like S3 (200 + ETag).
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var captured = CaptureOnePutAsync(listener);
        using var store = new S3ObjectStore("bucket", "p", $"http://127.0.0.1:{port}", null, forcePathStyle: true, sseKmsKeyId: kmsKey,
            credentials: new Amazon.Runtime.BasicAWSCredentials("AKIDEXAMPLE", "secret"));

        await store.PutAsync("blocks/acme/2025/01/01/00/0123456789abcdef.block", new byte[] { 1, 2, 3 }, default);
        var head = await captured;

        Assert.StartsWith("PUT /bucket/p/blocks/acme/2025/01/01/00/0123456789abcdef.block ", head, StringComparison.Ordinal);
        if (kmsKey is null)
        {
            Assert.DoesNotContain("x-amz-server-side-encryption", head, StringComparison.OrdinalIgnoreCase);
        }
        else
        {
            Assert.Matches(@"(?im)^x-amz-server-side-encryption:\s*aws:kms\r?$", head);
            Assert.Matches(@"(?im)^x-amz-server-side-encryption-aws-kms-key-id:\s*alias/traceseal-test\r?$", head);
        }
    }

    private static async Task<string> CaptureOnePutAsync(TcpListener listener)
    {
        using var client = await listener.AcceptTcpClientAsync();
        var stream = client.GetStream();
        var received = new MemoryStream();
        var buffer = new byte[8192];
        int headEnd;
        while ((headEnd = IndexOf(received, "\r\n\r\n"u8)) < 0)
        {
            int n = await stream.ReadAsync(buffer);
            if (n == 0)
            {
                throw new IOException("client closed before the request head ended");
            }

            received.Write(buffer, 0, n);
        }

        var head = Encoding.ASCII.GetString(received.GetBuffer(), 0, headEnd);
        var length = System.Text.RegularExpressions.Regex.Match(head, @"(?im)^content-length:\s*(\d+)");
        long body = length.Success ? long.Parse(length.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        if (head.Contains("Expect: 100-continue", StringComparison.OrdinalIgnoreCase))
        {
            await stream.WriteAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray());
        }

        long have = received.Length - headEnd - 4;
        while (have < body)
        {
            int n = await stream.ReadAsync(buffer);
            if (n == 0)
            {
                break;
            }

            have += n;
        }

        await stream.WriteAsync("HTTP/1.1 200 OK\r\nETag: \"5289df737df57326fcdd22597afb1fac\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray());
        return head;
    }

    private static int IndexOf(MemoryStream stream, ReadOnlySpan<byte> needle) => stream.GetBuffer().AsSpan(0, (int)stream.Length).IndexOf(needle);

    /// <summary>Fails every put until <see cref="Open"/>: an S3 outage the test ends when it wants.</summary>
    private sealed class GatedStore(IObjectStore inner) : IObjectStore
    {
        private readonly TaskCompletionSource _firstFailure = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _open;

        public Task FirstFailure => _firstFailure.Task;

        public void Open() => _open = true;

        public string Describe(string key) => inner.Describe(key);

        public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            if (!_open)
            {
                _firstFailure.TrySetResult();
                throw new HttpRequestException("connection refused (test outage)");
            }

            return inner.PutAsync(key, data, cancellationToken);
        }

        public Task<byte[]?> GetAsync(string key, int? firstBytes, CancellationToken cancellationToken) => inner.GetAsync(key, firstBytes, cancellationToken);

        public Task<IReadOnlyList<ObjectEntry>> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);

        public Task DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);
    }
}
