using OpenTelemetry.Proto.Collector.Trace.V1;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Query;
using TraceSeal.Query.Compaction;
using TraceSeal.Sealing;
using TraceSeal.Storage.Objects;
using TraceSeal.Storage.Tests.TestSupport;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;

namespace TraceSeal.Storage.Tests.Compaction;

/// <summary>
/// Issue 12 on the filesystem: block summaries let a lookup skip blocks without their index, `compact` merges a bucket's
/// blocks and commits them in a manifest — during ingest, under concurrent reads, and after a crash at any step — and
/// every tampered or swapped summary, index or manifest is an integrity error, never an empty answer.
/// </summary>
public sealed class CompactionTests : IDisposable
{
    private readonly StoreFixture _f = new();

    public void Dispose() => _f.Dispose();

    private static readonly CompactionOptions Eager = new() { MinAge = TimeSpan.Zero };

    private StoreCompactor Compactor(IObjectStore? store = null, CompactionOptions? options = null) => new(
        store ?? new FileSystemObjectStore(_f.Store), [KeyFiles.LoadIdentity(_f.Identity)], [KeyFiles.LoadRecipient(_f.Recipient)], options ?? Eager);

    /// <summary>Blocks of one trace each (trace n, two spans when n is even), each cut by itself.</summary>
    private async Task<Dictionary<string, int>> BlocksAsync(int count, int first = 1)
    {
        await using var exporter = await _f.StartAsync();
        var sent = new Dictionary<string, int>();
        for (int n = first; n < first + count; n++)
        {
            Assert.Equal(SinkResult.Ok, await exporter.ExportAsync(Batch(Request("checkout", [n], children: n % 2 == 0)), default));
            await exporter.CutBlocksAsync();
            sent[Convert.ToHexStringLower(TraceId(n))] = n % 2 == 0 ? 2 : 1;
        }

        return sent;
    }

    [Fact]
    public async Task A_cut_block_has_a_summary_and_a_trace_id_lookup_opens_the_index_of_the_matching_block_only()
    {
        await BlocksAsync(12);
        Assert.Equal(12, _f.Files("*.summary").Count());

        var reader = _f.Reader();
        var found = reader.Query(new TraceQuery { TraceId = TraceId(7) });

        Assert.Equal(1, found.SpanCount);
        Assert.Equal(12, reader.SummariesOpened);
        Assert.InRange(reader.IndexesOpened, 1, 3); // the match, and at most a Bloom false positive or two (1% each)

        // A service no block holds: every block is skipped by its summary alone.
        var none = _f.Reader();
        Assert.Equal(0, none.Query(new TraceQuery { Service = "no-such-service" }).SpanCount);
        Assert.Equal(0, none.IndexesOpened);
    }

    [Fact]
    public async Task A_search_reads_the_newest_blocks_first_and_stops_once_the_limit_is_found()
    {
        // Twelve blocks of one trace each, trace 100·n starting 100·n ms after the epoch of the fixture: block n ends
        // (spans last at most 40 ms) before block n + 1 begins.
        await using (var exporter = await _f.StartAsync())
        {
            for (int n = 1; n <= 12; n++)
            {
                Assert.Equal(SinkResult.Ok, await exporter.ExportAsync(Batch(Request("checkout", [100 * n], children: n % 2 == 0)), default));
                await exporter.CutBlocksAsync();
            }
        }

        // Reference: the same filter over every block (Query reads all the blocks its summaries let through).
        var all = _f.Reader().Query(new TraceQuery { Service = "checkout", Limit = 3 });
        var reader = _f.Reader();
        var found = TraceSearch.WholeTraces(reader, new TraceQuery { Service = "checkout", Limit = 3 });

        Assert.Equal(TraceIds(all), TraceIds(found));
        Assert.Equal([TraceId(1000), TraceId(1100), TraceId(1200)], TraceIds(found).Select(Convert.FromHexString));
        Assert.Equal(5, found.SpanCount); // 1000 and 1200 have a child span
        // First pass: blocks 12, 11, 10 and none older; the second pass finds those three indexes in the reader's cache
        // (plus at most a Bloom false positive or two among the other nine summaries).
        Assert.InRange(reader.IndexesOpened, 3, 5);

        // No filter at all: bounded by the limit the same way, not by the store.
        var bare = _f.Reader();
        var newest = TraceSearch.WholeTraces(bare, new TraceQuery { Limit = 2 });
        Assert.Equal([TraceId(1100), TraceId(1200)], TraceIds(newest).Select(Convert.FromHexString));
        Assert.InRange(bare.IndexesOpened, 2, 4);

        // No limit: every block is read, as before.
        var unbounded = _f.Reader();
        Assert.Equal(12, TraceSearch.WholeTraces(unbounded, new TraceQuery { Limit = 0 }).TraceCount);
        Assert.Equal(12, unbounded.IndexesOpened);

        // Inside one block too: merged into one block of a frame per record, a search with no filter opens the frames of
        // the newest records (and the end frame), in both passes, not the 12 data frames of the block.
        Compactor(options: new CompactionOptions { MinAge = TimeSpan.Zero, FrameBytes = 64 }).Run();
        Assert.Single(_f.Files("*.block"));
        var merged = _f.Reader();
        Assert.Equal([TraceId(1100), TraceId(1200)], TraceIds(TraceSearch.WholeTraces(merged, new TraceQuery { Limit = 2 })).Select(Convert.FromHexString));
        Assert.InRange(merged.FramesOpened, 4, 6);
        Assert.Equal(TraceIds(_f.Reader().Query(new TraceQuery { Limit = 5 })), TraceIds(TraceSearch.WholeTraces(_f.Reader(), new TraceQuery { Limit = 5 })));
    }

    private static List<string> TraceIds(QueryResult result) =>
        [.. result.Request.ResourceSpans.SelectMany(rs => rs.ScopeSpans).SelectMany(ss => ss.Spans)
            .Select(s => Convert.ToHexString(s.TraceId.Span)).Distinct().Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Compaction_merges_a_bucket_into_one_block_and_a_manifest_and_every_span_reads_back_once()
    {
        var sent = await BlocksAsync(10);
        var before = Spans(_f.Reader());

        var report = Compactor().Run();

        Assert.Equal((10, 1, 1), (report.BlocksMerged, report.BlocksWritten, report.ManifestsWritten));
        Assert.Equal((30, 4), (report.ObjectsBefore, report.ObjectsAfter)); // block, index, summary × 10 → one of each and a manifest
        Assert.Single(_f.Files("*.block"));
        Assert.Single(_f.Files("manifest-0000000001.manifest"));
        Assert.Equal(sent, before);
        Assert.Equal(sent, Spans(_f.Reader()));

        var reader = _f.Reader();
        Assert.Equal(2, reader.Query(new TraceQuery { TraceId = TraceId(4) }).SpanCount);
        Assert.Equal((1, 0, 1), (reader.ManifestsOpened, reader.SummariesOpened, reader.IndexesOpened));

        // Nothing more to do: a second pass writes nothing.
        Assert.Equal(0, Compactor().Run().ManifestsWritten);
    }

    [Fact]
    public async Task A_block_a_forwarder_reading_the_wal_has_not_passed_is_not_merged_but_joins_the_manifest()
    {
        var sent = await BlocksAsync(6);
        var blocks = _f.Files("*.block").Order(StringComparer.Ordinal).ToList();
        string owed = Path.GetFileNameWithoutExtension(blocks[2]);

        // Its key header (docs/format.md §14.11) says a forwarder still reads it; its content does not matter here.
        File.WriteAllBytes(Path.Combine(_f.Store, "wal", "acme", $"0000000001-{owed}.walkey"), [1]);

        var report = Compactor().Run();

        Assert.Equal((5, 1, 1), (report.BlocksMerged, report.BlocksWritten, report.ManifestsWritten));
        Assert.Contains(blocks[2], _f.Files("*.block"));
        Assert.Equal(2, _f.Files("*.block").Count());
        Assert.Equal(sent, Spans(_f.Reader()));
    }

    [Fact]
    public async Task A_long_lived_reader_answers_from_its_cache_and_sees_what_compaction_changed()
    {
        await BlocksAsync(4);
        var reader = new StoreReader(_f.Store, [KeyFiles.LoadIdentity(_f.Identity)], new StoreReaderOptions { IndexCacheBytes = 1 << 20 });
        Assert.Equal(1, reader.Query(new TraceQuery { TraceId = TraceId(3) }).SpanCount);
        long opened = reader.SummariesOpened + reader.IndexesOpened;

        Assert.Equal(1, reader.Query(new TraceQuery { TraceId = TraceId(3) }).SpanCount);
        Assert.Equal(opened, reader.SummariesOpened + reader.IndexesOpened);
        Assert.InRange(reader.CachedBytes, 1, 1 << 20);

        Compactor().Run();
        Assert.Equal(1, reader.Query(new TraceQuery { TraceId = TraceId(3) }).SpanCount);
        Assert.Equal(1, reader.ManifestsOpened);
    }

    [Fact]
    public async Task Compaction_during_concurrent_ingest_and_reads_loses_and_duplicates_nothing()
    {
        var exporter = await _f.StartAsync();
        var sent = new Dictionary<string, int>();
        var cuts = new SemaphoreSlim(0);
        using var done = new CancellationTokenSource();
        var ingest = Task.Run(async () =>
        {
            for (int n = 1; n <= 120; n++)
            {
                Assert.Equal(SinkResult.Ok, await exporter.ExportAsync(Batch(Request("checkout", [n], children: n % 3 == 0)), default));
                lock (sent)
                {
                    sent[Convert.ToHexStringLower(TraceId(n))] = n % 3 == 0 ? 2 : 1;
                }

                if (n % 4 == 0)
                {
                    await exporter.CutBlocksAsync();
                    cuts.Release();
                }
            }

            await done.CancelAsync();
        });
        int passes = 0;
        var compact = Task.Run(async () =>
        {
            var compactor = Compactor();
            while (!done.IsCancellationRequested)
            {
                try
                {
                    await cuts.WaitAsync(done.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                compactor.Run();
                passes++;
            }
        });
        int reads = 0;
        var read = Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                Spans(_f.Reader()); // throws on a duplicate or an integrity error
                reads++;
            }
        });

        await Task.WhenAll(ingest, compact, read);
        await exporter.DisposeAsync(); // a graceful stop cuts what is left
        Compactor().Run();

        Assert.True(passes > 5 && reads > 0, $"{passes} compaction passes, {reads} reads");
        Assert.Equal(sent, Spans(_f.Reader()));
        Assert.Single(_f.Files("*.block"));
        Assert.Equal(2, _f.Reader().Query(new TraceQuery { TraceId = TraceId(99) }).SpanCount);
    }

    [Fact]
    public async Task A_compaction_killed_at_any_step_leaves_a_complete_store_and_the_next_pass_finishes()
    {
        var sent = await BlocksAsync(6);
        var pristine = Path.Combine(_f.Dir, "pristine");
        CopyDirectory(_f.Store, pristine);
        for (int steps = 0; ; steps++)
        {
            Directory.Delete(_f.Store, recursive: true);
            CopyDirectory(pristine, _f.Store);
            var crashing = new CrashingStore(new FileSystemObjectStore(_f.Store), steps);
            bool crashed = false;
            try
            {
                Compactor(crashing).Run();
            }
            catch (SimulatedCrash)
            {
                crashed = true;
            }

            Assert.Equal(sent, Spans(_f.Reader()));
            Assert.Equal(2, _f.Reader().Query(new TraceQuery { TraceId = TraceId(2) }).SpanCount);

            Compactor().Run();
            Assert.Equal(sent, Spans(_f.Reader()));
            Assert.Equal(4, Directory.GetFiles(_f.Store, "*", SearchOption.AllDirectories).Count(f => f.Contains("/blocks/", StringComparison.Ordinal)));
            if (!crashed)
            {
                Assert.True(steps > 20, $"a pass over 6 blocks takes {steps} writes and deletes");
                break;
            }
        }
    }

    [Fact]
    public async Task A_traceseal_compact_process_killed_with_sigkill_mid_pass_leaves_a_complete_store_and_a_rerun_finishes()
    {
        // The real `traceseal compact` as a child process, SIGKILLed right after it made its k-th change in the store
        // (a file created, written, renamed or deleted, seen through inotify), for k spread over a whole pass, until a
        // pass ends before its k-th change. After every kill the store reads back complete; a rerun finishes the pass.
        var sent = await BlocksAsync(6);
        var pristine = Path.Combine(_f.Dir, "pristine");
        CopyDirectory(_f.Store, pristine);
        int kills = 0;
        for (int k = 1; ; k += 1 + (k / 3))
        {
            Directory.Delete(_f.Store, recursive: true);
            CopyDirectory(pristine, _f.Store);
            var (killed, exit, output) = await RunCompactAsync(killAfterChanges: k);
            if (!killed)
            {
                Assert.True(exit == 0, $"traceseal compact exited {exit}:\n{output}");
            }

            Assert.Equal(sent, Spans(_f.Reader()));
            Assert.Equal(2, _f.Reader().Query(new TraceQuery { TraceId = TraceId(2) }).SpanCount);

            var rerun = await RunCompactAsync(killAfterChanges: int.MaxValue);
            Assert.True(rerun.Exit == 0, $"the rerun exited {rerun.Exit}:\n{rerun.Output}");
            Assert.Equal(sent, Spans(_f.Reader()));
            Assert.Single(_f.Files("*.block"));
            if (!killed)
            {
                break;
            }

            kills++;
        }

        Assert.True(kills >= 3, $"only {kills} kills landed inside a pass");
    }

    private async Task<(bool Killed, int Exit, string Output)> RunCompactAsync(int killAfterChanges)
    {
        using var watcher = new FileSystemWatcher(_f.Store) { IncludeSubdirectories = true };
        var info = new System.Diagnostics.ProcessStartInfo(Crash.CollectorProcess.DotnetHost(),
            [Path.Combine(AppContext.BaseDirectory, "traceseal.dll"), "compact", "--store", _f.Store, "--identity", _f.Identity, "--recipient", _f.Recipient, "--min-age", "0s"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = new System.Diagnostics.Process { StartInfo = info };
        int changes = 0;
        bool killed = false;
        void OnChange()
        {
            if (Interlocked.Increment(ref changes) == killAfterChanges)
            {
                try
                {
                    process.Kill(); // SIGKILL to this process only: no handler, no cleanup
                    killed = true;
                }
                catch (InvalidOperationException)
                {
                    // it had already exited
                }
            }
        }

        watcher.Created += (_, _) => OnChange();
        watcher.Changed += (_, _) => OnChange();
        watcher.Renamed += (_, _) => OnChange();
        watcher.Deleted += (_, _) => OnChange();
        watcher.EnableRaisingEvents = true;
        process.Start();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        watcher.EnableRaisingEvents = false;
        return (killed && process.ExitCode != 0, process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task A_store_written_before_summaries_reads_and_compacts()
    {
        var sent = await BlocksAsync(5);
        foreach (var summary in _f.Files("*.summary"))
        {
            File.Delete(summary);
        }

        Assert.Equal(sent, Spans(_f.Reader()));
        Assert.Equal(1, _f.Reader().Query(new TraceQuery { TraceId = TraceId(3) }).SpanCount);
        Assert.Equal(5, Compactor().Run().BlocksMerged);
        Assert.Equal(sent, Spans(_f.Reader()));
    }

    [Fact]
    public async Task A_tampered_summary_is_an_integrity_error_not_an_empty_answer()
    {
        await BlocksAsync(3);
        var summary = _f.Files("*.summary").First();
        var bytes = File.ReadAllBytes(summary);
        bytes[^20] ^= 0x01;
        File.WriteAllBytes(summary, bytes);

        var e = Assert.Throws<StoreIntegrityException>(() => _f.Reader().Query(new TraceQuery { TraceId = TraceId(9) }));
        Assert.Equal((summary, "chunk_auth_failed"), (e.ObjectPath, e.Code));
    }

    [Fact]
    public async Task A_summary_of_another_block_is_summary_mismatch()
    {
        await BlocksAsync(2);
        var summaries = _f.Files("*.summary").ToList();
        File.Copy(summaries[1], summaries[0], overwrite: true);

        var e = Assert.Throws<StoreIntegrityException>(() => _f.Reader().Query(new TraceQuery { TraceId = TraceId(1) }));
        Assert.Equal((summaries[0], "summary_mismatch"), (e.ObjectPath, e.Code));
    }

    [Fact]
    public async Task A_summary_in_place_of_an_index_is_index_malformed_and_an_index_in_place_of_a_summary_summary_malformed()
    {
        await BlocksAsync(1);
        var summary = _f.Files("*.summary").Single();
        var index = _f.Files("*.index").Single();
        var (summaryBytes, indexBytes) = (File.ReadAllBytes(summary), File.ReadAllBytes(index));
        File.WriteAllBytes(index, summaryBytes);
        var e = Assert.Throws<StoreIntegrityException>(() => _f.Reader().ReadRecords("acme"));
        Assert.Equal((index, "index_malformed"), (e.ObjectPath, e.Code));

        File.WriteAllBytes(index, indexBytes);
        File.WriteAllBytes(summary, indexBytes);
        e = Assert.Throws<StoreIntegrityException>(() => _f.Reader().Query(new TraceQuery { TraceId = TraceId(1) }));
        Assert.Equal((summary, "summary_malformed"), (e.ObjectPath, e.Code));
    }

    [Fact]
    public async Task A_tampered_moved_or_renamed_manifest_is_an_integrity_error()
    {
        await BlocksAsync(3);
        Compactor().Run();
        var manifest = _f.Files("*.manifest").Single();
        var original = File.ReadAllBytes(manifest);

        var flipped = original.ToArray();
        flipped[^40] ^= 0x01;
        File.WriteAllBytes(manifest, flipped);
        var e = Assert.Throws<StoreIntegrityException>(() => _f.Reader().Query(new TraceQuery { TraceId = TraceId(1) }));
        Assert.Equal((manifest, "chunk_auth_failed"), (e.ObjectPath, e.Code));
        File.WriteAllBytes(manifest, original);

        // Renamed to another generation: the name is bound to the generation inside.
        var renamed = manifest.Replace("0000000001", "0000000007", StringComparison.Ordinal);
        File.Move(manifest, renamed);
        e = Assert.Throws<StoreIntegrityException>(() => _f.Reader().Query(new TraceQuery { TraceId = TraceId(1) }));
        Assert.Equal((renamed, "manifest_mismatch"), (e.ObjectPath, e.Code));
        File.Move(renamed, manifest);

        // Copied into another hour bucket: bound to its bucket.
        var elsewhere = Path.Combine(_f.Store, "blocks", "acme", "2020", "01", "01", "00");
        Directory.CreateDirectory(elsewhere);
        var moved = Path.Combine(elsewhere, Path.GetFileName(manifest));
        File.Copy(manifest, moved);
        e = Assert.Throws<StoreIntegrityException>(() => _f.Reader().Query(new TraceQuery { TraceId = TraceId(1) }));
        Assert.Equal((moved, "manifest_mismatch"), (e.ObjectPath, e.Code));
    }

    [Fact]
    public async Task The_compact_command_reports_one_line_and_exit_1_on_an_integrity_error_and_2_on_usage()
    {
        await BlocksAsync(2);
        var index = _f.Files("*.index").First();
        var bytes = File.ReadAllBytes(index);
        bytes[^20] ^= 0x01;
        File.WriteAllBytes(index, bytes);
        var (output, error) = (new StringWriter(), new StringWriter());

        int exit = await TraceSeal.Cli.Commands.CompactCommand.RunAsync(Compactor(), every: null, output, error, CancellationToken.None);

        Assert.Equal(1, exit);
        Assert.Equal($"error: {index}: integrity error (chunk_auth_failed); the object was corrupted, truncated, moved or tampered with", error.ToString().Trim());
        Assert.Equal(2, await TraceSeal.Cli.Program.Main(["compact", "--store", _f.Store, "--identity", _f.Identity]));
    }

    /// <summary>Every span of the tenant by trace id (hex) → count; fails on a span read twice.</summary>
    internal static Dictionary<string, int> Spans(StoreReader reader, string tenant = "acme")
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var counts = new Dictionary<string, int>();
        foreach (var record in reader.ReadRecords(tenant))
        {
            foreach (var rs in ExportTraceServiceRequest.Parser.ParseFrom(record.Payload.Span).ResourceSpans)
            {
                foreach (var span in rs.ScopeSpans.SelectMany(s => s.Spans))
                {
                    var trace = Convert.ToHexStringLower(span.TraceId.Span);
                    Assert.True(seen.Add(trace + Convert.ToHexStringLower(span.SpanId.Span)), $"span {span.SpanId.ToBase64()} of trace {trace} read twice");
                    counts[trace] = counts.GetValueOrDefault(trace) + 1;
                }
            }
        }

        return counts;
    }

    internal static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}

/// <summary>What a kill -9 does to a pass: the put or delete number N (0-based) and everything after it never happen.</summary>
internal sealed class SimulatedCrash() : Exception("simulated crash");

/// <summary>Passes reads through; lets <c>mutations</c> puts and deletes through, then throws <see cref="SimulatedCrash"/> at every one.</summary>
internal sealed class CrashingStore(IObjectStore inner, int mutations) : IObjectStore
{
    private int _left = mutations;

    public string Describe(string key) => inner.Describe(key);

    public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        _left-- > 0 ? inner.PutAsync(key, data, cancellationToken) : throw new SimulatedCrash();

    public Task<byte[]?> GetAsync(string key, int? firstBytes, CancellationToken cancellationToken) => inner.GetAsync(key, firstBytes, cancellationToken);

    public Task<byte[]?> GetRangeAsync(string key, long offset, int count, CancellationToken cancellationToken) => inner.GetRangeAsync(key, offset, count, cancellationToken);

    public Task<IReadOnlyList<ObjectEntry>> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        _left-- > 0 ? inner.DeleteAsync(key, cancellationToken) : throw new SimulatedCrash();
}
