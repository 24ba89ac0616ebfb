using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Hosting;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage;
using TraceSeal.Pki;
using TraceSeal.Query;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;
using TraceSeal.Storage.Tests.TestSupport;
using TraceSeal.Tests.Shared;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;

namespace TraceSeal.Storage.Tests;

/// <summary>
/// Failures that heal (issue 10, "Prove it"): the sealed store on a small tmpfs that is made full and freed again.
/// A request is either acknowledged (and then reads back) or refused retryably; once space returns, pending cuts
/// finish, nothing is left behind (temp files, orphan indexes, backlog) and ingest resumes.
/// </summary>
public sealed class DiskFullTests : IDisposable
{
    private readonly StoreFixture _f = new();
    private Tmpfs? _tmpfs;
    private int _nextTrace;

    public void Dispose()
    {
        _tmpfs?.Dispose();
        _f.Dispose();
    }

    private Tmpfs MountStore(long bytes = 8 << 20) => _tmpfs = Tmpfs.Mount(_f.Store, bytes);

    /// <summary>A request of two pages or more: its frame never fits in the slack of a segment's last page.</summary>
    private (byte[] Payload, string[] TraceIds) NextRequest()
    {
        var traces = Enumerable.Range(0, 8).Select(_ => ++_nextTrace).ToArray();
        var request = Request("checkout", traces, marker: new string('m', Environment.SystemPageSize / 4));
        return (request.ToByteArray(), traces.Select(t => Convert.ToHexString(TraceId(t))).ToArray());
    }

    private static long Backlog(SealedStoreExporter exporter) => exporter.WalBacklogBytesByTenant.Sum(t => t.Value);

    private HashSet<string> StoredTraceIds() =>
        _f.Reader().Query(new TraceQuery { Limit = 0 }).Request.ResourceSpans
            .SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).Select(s => Convert.ToHexString(s.TraceId.Span)).ToHashSet();

    private void AssertNothingLeftBehind()
    {
        Assert.Empty(_f.Files("*" + StoreFormat.TempExtension));
        Assert.Empty(_f.Files("*" + StoreFormat.WalExtension));
        var blocks = _f.Files("*" + StoreFormat.BlockExtension).Select(p => Path.ChangeExtension(p, null)).ToList();
        var indexes = _f.Files("*" + StoreFormat.IndexExtension).Select(p => Path.ChangeExtension(p, null)).ToList();
        Assert.Empty(indexes.Except(blocks).Select(stem => stem + StoreFormat.IndexExtension)); // no index without its block
        Assert.Empty(blocks.Except(indexes).Select(stem => stem + StoreFormat.BlockExtension)); // every cut finished
    }

    [TmpfsFact]
    public async Task Ten_disk_full_episodes_heal_and_every_acknowledged_span_reads_back()
    {
        var tmpfs = MountStore();
        var acknowledged = new List<string>();
        int refused = 0;
        var log = new LineLogger();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var exporter = await _f.StartAsync(logger: log);

        // The tenant's directories exist before the first episode (a first request, on a disk with room).
        var (first, firstIds) = NextRequest();
        Assert.Equal(SinkResult.Ok, await exporter.ExportIndexedAsync(first));
        acknowledged.AddRange(firstIds);

        for (int episode = 1; episode <= 10; episode++)
        {
            tmpfs.Fill();
            int refusedNow = 0;
            for (int i = 0; i < 4; i++)
            {
                var (payload, ids) = NextRequest();
                var result = await exporter.ExportIndexedAsync(payload);
                if (result.Accepted)
                {
                    acknowledged.AddRange(ids); // a frame that still fit in a page the store already had
                    continue;
                }

                Assert.True(result.Retryable, $"episode {episode}: a full disk must be a retryable refusal, got: {result.Reason}");
                Assert.Equal(StoreContext.RetryAfter, result.RetryAfter);
                refusedNow++;
            }

            Assert.True(refusedNow > 0, $"episode {episode}: the full disk refused nothing");
            refused += refusedNow;
            Assert.True(exporter.IsFailing, $"episode {episode}: a full disk must show (readiness reads IsFailing)");

            await exporter.CutBlocksAsync(); // a tick while the disk is still full: the cut fails and stays pending
            Assert.True(Backlog(exporter) > 0, $"episode {episode}: a failed cut must keep its backlog");

            tmpfs.Free();
            await exporter.CutBlocksAsync(); // space is back: every pending cut finishes

            for (int i = 0; i < 4; i++)
            {
                var (payload, ids) = NextRequest();
                var result = await exporter.ExportIndexedAsync(payload);
                Assert.True(result.Accepted, $"episode {episode}: ingest did not resume with free disk: {result.Reason}");
                acknowledged.AddRange(ids);
            }

            Assert.False(exporter.IsFailing, $"episode {episode}: still failing after space returned");
            Assert.Empty(_f.Files("*" + StoreFormat.TempExtension));
        }

        await exporter.CutBlocksAsync();
        Assert.Equal(0, Backlog(exporter));
        Assert.False(exporter.IsFailing);
        await exporter.StopAsync(default);
        Assert.Equal(0, Backlog(exporter));

        AssertNothingLeftBehind();
        var stored = StoredTraceIds();
        Assert.Empty(acknowledged.Except(stored)); // every acknowledged span, after ten episodes
        Assert.True(refused >= 10, $"{refused} refusals over 10 episodes");

        // A disk that keeps filling and freeing logs one Error (with its exception) per 30 s, not one per episode,
        // and a "succeed again" line only for an Error it answers; a block cut's recovery is its own line.
        int allowed = 1 + (int)(clock.ElapsedMilliseconds / 30_000);
        int walErrors = log.Count(Microsoft.Extensions.Logging.LogLevel.Error, "writing the WAL failed");
        int cutErrors = log.Count(Microsoft.Extensions.Logging.LogLevel.Error, "writing a block failed");
        Assert.InRange(walErrors, 1, allowed);
        Assert.InRange(cutErrors, 1, allowed);
        Assert.InRange(log.Count(Microsoft.Extensions.Logging.LogLevel.Information, "WAL writes succeed again"), 1, walErrors);
        Assert.InRange(log.Count(Microsoft.Extensions.Logging.LogLevel.Information, "writing blocks succeeds again"), 1, cutErrors);
    }

    [TmpfsFact]
    public async Task Ten_disk_full_episodes_through_the_receiver_refuse_retryably_heal_and_every_acknowledged_span_reads_back()
    {
        // The collector from YAML (mTLS OTLP/HTTP receiver, sealed_store with fsync on the tmpfs, blocks cut by its own
        // tick every 250 ms, so cuts fail on the full disk too) and a real client: what a client sees is what is asserted.
        var tmpfs = MountStore();
        var certs = Path.Combine(_f.Dir, "certs");
        Directory.CreateDirectory(certs);
        DevPki.Init(certs, ["localhost", "127.0.0.1"]);
        var config = CollectorConfigLoader.Parse($$"""
            receivers:
              otlp:
                protocols:
                  http:
                    endpoint: 127.0.0.1:0
                    tls: { cert_file: certs/server.crt, key_file: certs/server.key, client_ca_file: certs/ca.crt }
            exporters:
              sealed_store:
                directory: {{_f.Store}}
                recipients: [{{_f.Recipient}}]
                durability: fsync
                block:
                  max_age: 1s
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [sealed_store]
            """, Path.Combine(_f.Dir, "collector.yaml"));
        var acknowledged = new List<string>();
        int refused = 0;
        await using (var host = CollectorHost.Create(config, NullLoggerFactory.Instance))
        {
            await host.StartAsync(CancellationToken.None);
            var store = Assert.IsType<SealedStoreExporter>(host.Exporters["sealed_store"]);
            using var client = MtlsClient.Create(certs);
            var uri = new Uri($"https://127.0.0.1:{host.Receivers[0].HttpEndpoint!.Port}/v1/traces");
            await SendUntilAcknowledgedAsync(client, uri, acknowledged, "the first request"); // the tenant's directories exist

            for (int episode = 1; episode <= 10; episode++)
            {
                // Full: requests until one is refused (a frame may still fit in a page the store already had). Filled
                // again before each: a block cut that failed on the full disk deletes its temp file, which frees space.
                HttpStatusCode status = HttpStatusCode.OK;
                for (int i = 0; i < 8 && status == HttpStatusCode.OK; i++)
                {
                    tmpfs.Fill();
                    var (payload, ids) = NextRequest();
                    using var response = await PostAsync(client, uri, payload);
                    status = response.StatusCode;
                    if (status == HttpStatusCode.OK)
                    {
                        acknowledged.AddRange(ids);
                        continue;
                    }

                    Assert.True(status == HttpStatusCode.ServiceUnavailable, $"episode {episode}: a full disk must be a retryable refusal, got {(int)status}");
                    Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
                    refused++;
                }

                Assert.True(status == HttpStatusCode.ServiceUnavailable, $"episode {episode}: 8 requests acknowledged on a full disk");
                Assert.True(store.IsFailing, $"episode {episode}: a full disk must show (readiness reads IsFailing)");

                // Space comes back: ingest resumes by itself (the client retries a refusal, as Retry-After asks), then
                // every request is acknowledged.
                tmpfs.Free();
                await SendUntilAcknowledgedAsync(client, uri, acknowledged, $"episode {episode}: ingest to resume");
                for (int i = 0; i < 3; i++)
                {
                    var (payload, ids) = NextRequest();
                    using var response = await PostAsync(client, uri, payload);
                    Assert.True(response.StatusCode == HttpStatusCode.OK, $"episode {episode}: refused with free disk: {(int)response.StatusCode}");
                    acknowledged.AddRange(ids);
                }
            }

            await Eventually.TrueAsync(() => !store.IsFailing && Backlog(store) == 0, "the store to heal and cut every segment with free disk", TimeSpan.FromSeconds(30));
        } // a graceful stop

        AssertNothingLeftBehind();
        Assert.Empty(acknowledged.Except(StoredTraceIds())); // every acknowledged span, after ten episodes
        Assert.InRange(refused, 10, 80);
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, Uri uri, byte[] payload)
    {
        using var content = new ByteArrayContent(payload);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return await client.PostAsync(uri, content);
    }

    /// <summary>Sends one request, resending it while it is refused with 503 (bounded: 30 s), and records its trace ids.</summary>
    private async Task SendUntilAcknowledgedAsync(HttpClient client, Uri uri, List<string> acknowledged, string what)
    {
        var (payload, ids) = NextRequest();
        var status = HttpStatusCode.ServiceUnavailable;
        await Eventually.TrueAsync(
            async () =>
            {
                using var response = await PostAsync(client, uri, payload);
                status = response.StatusCode;
                Assert.True(status is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"{what}: got {(int)status}");
                return status == HttpStatusCode.OK;
            },
            what,
            TimeSpan.FromSeconds(30));
        acknowledged.AddRange(ids);
    }

    [TmpfsFact]
    public async Task A_failed_frame_write_is_replaced_by_an_end_frame_at_its_position_and_the_block_reads_back()
    {
        var tmpfs = MountStore();
        await using var exporter = await _f.StartAsync();
        var (a, aIds) = NextRequest();
        Assert.Equal(SinkResult.Ok, await exporter.ExportIndexedAsync(a));
        var segment = Assert.Single(_f.Files("*" + StoreFormat.WalExtension));
        var beforeFailure = File.ReadAllBytes(segment); // header + frame 0, all acknowledged (and zero fill with direct I/O)
        var open = LogScan.Scan(beforeFailure);
        Assert.Equal(LogTail.Open, open.Tail);
        beforeFailure = beforeFailure[..(int)open.GoodLength];

        tmpfs.Fill();
        var (b, bIds) = NextRequest();
        var refused = await exporter.ExportIndexedAsync(b);
        Assert.False(refused.Accepted);
        Assert.True(refused.Retryable);
        Assert.Equal("sealed store write failed", refused.Reason);

        tmpfs.Free();
        await exporter.CutBlocksAsync();
        Assert.Equal(0, Backlog(exporter));

        var block = File.ReadAllBytes(Assert.Single(_f.Files("*" + StoreFormat.BlockExtension)));
        Assert.Equal(beforeFailure.Length + SealedLogWriter.EndFrameLength, block.Length); // the torn bytes are gone
        Assert.True(block.AsSpan(0, beforeFailure.Length).SequenceEqual(beforeFailure), "the acknowledged bytes were rewritten");
        var scan = LogScan.Scan(block);
        Assert.Equal(LogTail.Complete, scan.Tail);
        Assert.Equal(2, scan.Frames.Count);
        Assert.True(scan.Frames[1].IsEnd);
        Assert.Equal((long)beforeFailure.Length, scan.Frames[1].Offset); // where the failed frame began
        Assert.Equal(1u, scan.Frames[1].Index); // and at its index: the end frame opens there (no nonce reused)

        // Opened with the identity as a complete block (the end frame authenticates at position 1).
        var records = LogReader.ReadAll(block, [KeyFiles.LoadIdentity(_f.Identity)], LogPlace.Block, out _);
        Assert.True(Assert.Single(records).Payload.Span.SequenceEqual(a));

        var (c, cIds) = NextRequest();
        Assert.Equal(SinkResult.Ok, await exporter.ExportIndexedAsync(c));
        Assert.False(exporter.IsFailing);
        await exporter.StopAsync(default);
        AssertNothingLeftBehind();
        var stored = StoredTraceIds();
        Assert.Equal(aIds.Concat(cIds).Order(), stored.Order());
        Assert.DoesNotContain(bIds[0], stored);
    }

    [TmpfsFact]
    public async Task A_segment_whose_first_frame_never_reached_the_disk_leaves_no_block_and_no_index()
    {
        var tmpfs = MountStore();
        await using var exporter = await _f.StartAsync();
        var (warm, warmIds) = NextRequest();
        Assert.Equal(SinkResult.Ok, await exporter.ExportIndexedAsync(warm));
        await exporter.CutBlocksAsync(); // no live segment now: the next request opens a new one
        var blocksBefore = _f.Files("*" + StoreFormat.BlockExtension).ToList();

        tmpfs.Fill();
        var (b, _) = NextRequest();
        var refused = await exporter.ExportIndexedAsync(b);
        Assert.False(refused.Accepted);
        Assert.True(refused.Retryable);

        tmpfs.Free();
        await exporter.CutBlocksAsync();
        Assert.Equal(0, Backlog(exporter));
        Assert.Empty(_f.Files("*" + StoreFormat.WalExtension)); // the headerless segment is deleted
        Assert.Equal(blocksBefore, _f.Files("*" + StoreFormat.BlockExtension));
        AssertNothingLeftBehind();

        var (c, cIds) = NextRequest();
        Assert.Equal(SinkResult.Ok, await exporter.ExportIndexedAsync(c));
        await exporter.StopAsync(default);
        AssertNothingLeftBehind();
        Assert.Equal(warmIds.Concat(cIds).Order(), StoredTraceIds().Order());
    }

    [TmpfsFact]
    public async Task Readiness_recovers_once_space_returns_without_waiting_for_a_request()
    {
        // A load balancer that reads /readyz sends nothing to an unready collector: if only an acknowledged
        // request could clear the failure, the collector would stay unready after the disk has room again.
        var tmpfs = MountStore();
        await using var exporter = await _f.StartAsync();
        var (a, _) = NextRequest();
        Assert.Equal(SinkResult.Ok, await exporter.ExportIndexedAsync(a));

        tmpfs.Fill();
        var (b, _) = NextRequest();
        Assert.False((await exporter.ExportIndexedAsync(b)).Accepted);
        Assert.True(exporter.IsFailing);

        tmpfs.Free();
        await exporter.CutBlocksAsync(); // the pending cut succeeds: the disk takes writes again
        Assert.Equal(0, Backlog(exporter));
        Assert.False(exporter.IsFailing, "still failing (/readyz 503) with free disk and nothing pending");
    }
}
