using System.Diagnostics;
using System.Globalization;
using TraceSeal.Pki;
using TraceSeal.Sealing;
using Xunit.Abstractions;

namespace TraceSeal.Storage.Tests.Crash;

/// <summary>
/// Durability of acknowledgements: the real collector binary ingests over mTLS (8 concurrent senders, every
/// request its own trace id) while it is killed with SIGKILL again and again, at a different number of
/// acknowledgements each time. Afterwards every trace id that got a 200 must be readable (at-least-once:
/// duplicates and "stored, never acknowledged" are counted, not failed). Two scenarios:
/// <list type="bullet">
/// <item>one collector, pipeline otlp -> sealed_store (fsync);</item>
/// <item>an edge whose pipeline has sealed_store (fsync) and an otlp exporter (a sealed sending queue configured),
/// forwarding over mTLS gRPC to a gateway collector with its own sealed_store; the exporter reads the edge's WAL
/// with its own cursor (one fsync'd write per request); only the edge is killed, and every acknowledged trace must
/// be in both stores;</item>
/// <item>the same edge with blocks cut by size (block::max_bytes 32KiB) and retention::max_bytes far below what it
/// holds, killed while the gateway is down: every segment is held for the forwarder, so retention (every tick) must
/// keep all of it across the kills; then the gateway comes up, the edge forwards everything, and retention prunes
/// the edge once the segments are passed. Every acknowledged trace must be at the edge before forwarding and at the
/// gateway after.</item>
/// </list>
/// TRACESEAL_KILL9_CYCLES overrides the number of kill cycles of each scenario (bench/reliability/kill9.sh uses
/// 20), TRACESEAL_KILL9_SEED repeats a run's kill points, and each scenario appends its summary line to the file
/// named by TRACESEAL_KILL9_REPORT.
/// </summary>
[Trait("Category", "Reliability")]
public sealed class Kill9Tests : IDisposable
{
    private const int Senders = 8;
    private const int FinalAcks = 50;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CycleTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long the gateway may take to hold everything the edge acknowledged, once the load stopped.</summary>
    private static readonly TimeSpan ForwardTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ForwardPoll = TimeSpan.FromMilliseconds(250);

    private readonly ITestOutputHelper _out;
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-kill9-").FullName;

    public Kill9Tests(ITestOutputHelper output)
    {
        _out = output;
    }

    private string Certs => Path.Combine(_dir, "certs");

    private string Identity => Path.Combine(_dir, "keys", "reader.identity.pem");

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Every_acknowledged_trace_survives_repeated_kill_9_during_ingest()
    {
        int cycles = Cycles(defaultCycles: 10);
        int seed = Seed();
        var random = new Random(seed);
        InitPkiAndKeys();
        var config = Write("collector.yaml", $"""
            {Receiver("http")}
            exporters:
            {SealedStore("data", smallSegments: true)}
            {Service("[sealed_store]")}
            """);
        var clock = Stopwatch.StartNew();

        using var load = new LoadClient(Certs);
        var senders = load.Start(Senders);
        List<int> kills;
        try
        {
            kills = await KillRepeatedlyAsync(config, load, cycles, random);

            // One more start recovers the last crash; a graceful stop (SIGTERM) then cuts blocks.
            await using var last = CollectorProcess.Start(config);
            var port = await last.WaitReadyAsync(ReadyTimeout);
            await load.Open(new Uri($"https://127.0.0.1:{port}"), FinalAcks).WaitAsync(CycleTimeout);
            load.Close();
            await StopGracefullyAsync(last);
        }
        finally
        {
            await load.StopAsync(senders);
        }

        var stored = StoredTraces.Read(Path.Combine(_dir, "data"), Identity);
        var acked = load.Acknowledged.ToArray();
        var missing = stored.Missing(acked);
        var summary =
            $"kill9: seed {seed}, {cycles} SIGKILL cycles (kill after {string.Join(",", kills)} acks) + 1 graceful stop in {clock.Elapsed.TotalSeconds:F1} s; " +
            $"requests sent {load.Sent}, acknowledged {acked.Length}, failed/refused {load.Failed}; " +
            $"stored traces {stored.Traces} (spans {stored.Spans}), acknowledged missing {missing.Count}, " +
            $"duplicated {stored.Duplicated}, stored but never acknowledged {stored.NotAcknowledged(load.AcknowledgedSet)}; files: {Files("data")}";
        Report(summary);

        Assert.True(acked.Length >= cycles, $"too few acknowledgements to prove anything: {summary}");
        Assert.True(missing.Count == 0, $"acknowledged but lost: {StoredTraces.Describe(missing)}; {summary}");
        Assert.True(stored.WholeRequestsOnly, $"a trace holds part of a request: {summary}");
    }

    [Fact]
    public async Task Every_acknowledged_trace_reaches_the_edge_store_and_the_gateway_when_the_edge_is_killed_9_again_and_again()
    {
        int cycles = Cycles(defaultCycles: 5);
        int seed = Seed();
        var random = new Random(seed);
        InitPkiAndKeys();
        var clock = Stopwatch.StartNew();

        // The gateway is never killed: started first, on port 0, its gRPC port read from its log.
        var gatewayConfig = Write("gateway.yaml", $"""
            {Receiver("grpc")}
            exporters:
            {SealedStore("gateway-data", smallSegments: false)}
            {Service("[sealed_store]")}
            """);
        await using var gateway = CollectorProcess.Start(gatewayConfig);
        int gatewayPort = await gateway.WaitGrpcReadyAsync(ReadyTimeout);

        // The edge acknowledges once the request is sealed + fsync'd in its store's WAL, once: otlp/gateway is listed
        // by exactly the store's pipelines, so it reads that WAL (docs/format.md §14.11) and forwards from its own
        // cursor after every restart, following recovered segments into blocks/. The batch processor makes the
        // sender merge records, so kills also land between a merged request and its cursor write.
        var edgeConfig = Write("edge.yaml", $"""
            {Receiver("http")}
            processors:
              batch:
                send_batch_size: 512
                timeout: 200ms
            exporters:
            {SealedStore("edge-data", smallSegments: true)}
              otlp/gateway:
                endpoint: 127.0.0.1:{gatewayPort}
                tls:
                  ca_file: certs/ca.crt
                  cert_file: certs/client.crt
                  key_file: certs/client.key
                retry_on_failure:
                  initial_interval: 100ms
                  max_interval: 1s
                sending_queue:
                  directory: edge-queue
                  queue_key_file: keys/edge-queue.key
            {Service("[sealed_store, otlp/gateway]", processors: "[batch]")}
            """);

        using var load = new LoadClient(Certs);
        var senders = load.Start(Senders);
        List<int> kills;
        TimeSpan forwarded;
        try
        {
            kills = await KillRepeatedlyAsync(edgeConfig, load, cycles, random);

            // One more start replays the queue from its cursor; once the load has stopped (nothing more can be
            // acknowledged), wait for the gateway to hold every acknowledged trace, then stop the edge gracefully.
            // Not the other way round: a stopped edge forwards nothing (unsent records wait on disk).
            await using var last = CollectorProcess.Start(edgeConfig);
            var port = await last.WaitReadyAsync(ReadyTimeout);
            await load.Open(new Uri($"https://127.0.0.1:{port}"), FinalAcks).WaitAsync(CycleTimeout);
            await load.StopAsync(senders);
            forwarded = await WaitUntilStoredAsync(Path.Combine(_dir, "gateway-data"), load, last);
            await StopGracefullyAsync(last);
        }
        finally
        {
            await load.StopAsync(senders);
        }

        await StopGracefullyAsync(gateway);

        var atEdge = StoredTraces.Read(Path.Combine(_dir, "edge-data"), Identity);
        var atGateway = StoredTraces.Read(Path.Combine(_dir, "gateway-data"), Identity);
        var acked = load.Acknowledged.ToArray();
        var missingAtEdge = atEdge.Missing(acked);
        var missingAtGateway = atGateway.Missing(acked);
        var summary =
            $"kill9 edge->gateway: seed {seed}, {cycles} SIGKILL cycles of the edge (kill after {string.Join(",", kills)} acks) + 1 graceful stop in {clock.Elapsed.TotalSeconds:F1} s, " +
            $"gateway complete {forwarded.TotalSeconds:F1} s after the load stopped; " +
            $"requests sent {load.Sent}, acknowledged {acked.Length}, failed/refused {load.Failed}; " +
            $"edge store: traces {atEdge.Traces} (spans {atEdge.Spans}), acknowledged missing {missingAtEdge.Count}, duplicated {atEdge.Duplicated}, " +
            $"stored but never acknowledged {atEdge.NotAcknowledged(load.AcknowledgedSet)}; " +
            $"gateway store: traces {atGateway.Traces} (spans {atGateway.Spans}), acknowledged missing {missingAtGateway.Count}, " +
            $"duplicated {atGateway.Duplicated} ({atGateway.ExtraCopies} extra copies), stored but never acknowledged {atGateway.NotAcknowledged(load.AcknowledgedSet)}; " +
            $"edge files: {Files("edge-data")}; gateway files: {Files("gateway-data")}; edge queue segments left: {Directory.GetFiles(Path.Combine(_dir, "edge-queue"), "*.queue").Length}";
        Report(summary);

        Assert.True(acked.Length >= cycles, $"too few acknowledgements to prove anything: {summary}");
        Assert.True(missingAtEdge.Count == 0, $"acknowledged but lost at the edge: {StoredTraces.Describe(missingAtEdge)}; {summary}");
        Assert.True(missingAtGateway.Count == 0, $"acknowledged but never reached the gateway: {StoredTraces.Describe(missingAtGateway)}; {summary}");
        Assert.True(atEdge.WholeRequestsOnly && atGateway.WholeRequestsOnly, $"a trace holds part of a request: {summary}");
    }

    /// <summary>retention::max_bytes of the edge in the retention scenario: two or three of its 32 KiB blocks.</summary>
    private const long EdgeRetentionBytes = 96 * 1024;

    /// <summary>Acknowledgements of the last start in the retention scenario: enough data (about 270 KB) for retention to want most of it gone, whatever the kill points.</summary>
    private const int RetentionFinalAcks = 600;

    [Fact]
    public async Task With_blocks_cut_by_size_and_retention_running_every_acknowledged_trace_stays_at_the_edge_while_the_gateway_is_down_and_reaches_it_after_kill_9s()
    {
        int cycles = Cycles(defaultCycles: 5);
        int seed = Seed();
        var random = new Random(seed);
        InitPkiAndKeys();
        var clock = Stopwatch.StartNew();

        // The gateway is down while the edge is killed: the forwarder holds every segment (key headers), so retention,
        // which runs on every tick of the edge's cut loop with a limit the run overshoots many times, must keep them,
        // across every kill; blocks are cut by size (block::max_bytes 32KiB) and by age. Then the gateway comes up on
        // the port the edge was told, and the edge, started once more without load, forwards everything.
        int gatewayPort = FreePort();
        var gatewayConfig = Write("gateway-retention.yaml", $"""
            {Receiver("grpc", gatewayPort)}
            exporters:
            {SealedStore("gateway-retention-data", smallSegments: false)}
            {Service("[sealed_store]")}
            """);
        var edgeConfig = Write("edge-retention.yaml", $"""
            {Receiver("http")}
            processors:
              batch:
                send_batch_size: 512
                timeout: 200ms
            exporters:
            {SealedStore("edge-retention-data", smallSegments: true, blockMaxBytes: "32KiB", retentionMaxBytes: EdgeRetentionBytes)}
              otlp/gateway:
                endpoint: 127.0.0.1:{gatewayPort}
                tls:
                  ca_file: certs/ca.crt
                  cert_file: certs/client.crt
                  key_file: certs/client.key
                retry_on_failure:
                  initial_interval: 100ms
                  max_interval: 1s
                sending_queue:
                  directory: edge-retention-queue
                  queue_key_file: keys/edge-retention-queue.key
            {Service("[sealed_store, otlp/gateway]", processors: "[batch]")}
            """);
        string edgeData = Path.Combine(_dir, "edge-retention-data");
        string gatewayData = Path.Combine(_dir, "gateway-retention-data");

        using var load = new LoadClient(Certs);
        var senders = load.Start(Senders);
        List<int> kills;
        try
        {
            kills = await KillRepeatedlyAsync(edgeConfig, load, cycles, random);
            await using var last = CollectorProcess.Start(edgeConfig);
            var port = await last.WaitReadyAsync(ReadyTimeout);
            await load.Open(new Uri($"https://127.0.0.1:{port}"), RetentionFinalAcks).WaitAsync(CycleTimeout);
            await load.StopAsync(senders);
            await StopGracefullyAsync(last);
        }
        finally
        {
            await load.StopAsync(senders);
        }

        // Everything acknowledged is still at the edge although retention wanted most of it gone.
        var acked = load.Acknowledged.ToArray();
        var atEdge = StoredTraces.Read(edgeData, Identity);
        var missingAtEdge = atEdge.Missing(acked);
        long heldBytes = BlockBytes(edgeData);

        // The gateway comes up; the edge forwards from its cursor, and once the segments are passed retention applies.
        TimeSpan forwarded;
        TimeSpan pruned;
        await using (var gateway = CollectorProcess.Start(gatewayConfig))
        {
            await gateway.WaitGrpcReadyAsync(ReadyTimeout);
            await using (var edge = CollectorProcess.Start(edgeConfig))
            {
                await edge.WaitReadyAsync(ReadyTimeout);
                forwarded = await WaitUntilStoredAsync(gatewayData, load, edge);
                var since = Stopwatch.StartNew();
                while (BlockBytes(edgeData) > EdgeRetentionBytes)
                {
                    Assert.True(since.Elapsed < ForwardTimeout, $"retention did not bring the edge's blocks ({BlockBytes(edgeData)} bytes) under {EdgeRetentionBytes} once forwarded; the edge's log:\n{edge.Log()}");
                    await Task.Delay(ForwardPoll);
                }

                pruned = since.Elapsed;
                await StopGracefullyAsync(edge);
            }

            await StopGracefullyAsync(gateway);
        }

        var atGateway = StoredTraces.Read(gatewayData, Identity);
        var missingAtGateway = atGateway.Missing(acked);
        var summary =
            $"kill9 edge(retention)->gateway: seed {seed}, {cycles} SIGKILL cycles of the edge with the gateway down (kill after {string.Join(",", kills)} acks) + 1 graceful stop, " +
            $"then gateway up: complete {forwarded.TotalSeconds:F1} s after the edge was ready, edge blocks under retention::max_bytes {pruned.TotalSeconds:F1} s later; {clock.Elapsed.TotalSeconds:F1} s in all; " +
            $"requests sent {load.Sent}, acknowledged {acked.Length}, failed/refused {load.Failed}; " +
            $"edge store before forwarding: {heldBytes} bytes of blocks held (retention::max_bytes {EdgeRetentionBytes}), traces {atEdge.Traces} (spans {atEdge.Spans}), acknowledged missing {missingAtEdge.Count}, " +
            $"duplicated {atEdge.Duplicated}, stored but never acknowledged {atEdge.NotAcknowledged(load.AcknowledgedSet)}; after forwarding and retention: {BlockBytes(edgeData)} bytes, {Files("edge-retention-data")}; " +
            $"gateway store: traces {atGateway.Traces} (spans {atGateway.Spans}), acknowledged missing {missingAtGateway.Count}, " +
            $"duplicated {atGateway.Duplicated} ({atGateway.ExtraCopies} extra copies), stored but never acknowledged {atGateway.NotAcknowledged(load.AcknowledgedSet)}";
        Report(summary);

        Assert.True(acked.Length >= cycles, $"too few acknowledgements to prove anything: {summary}");
        Assert.True(heldBytes > 2 * EdgeRetentionBytes, $"too little data for retention to want anything deleted: {summary}");
        Assert.True(missingAtEdge.Count == 0, $"acknowledged but lost at the edge (retention removed a held segment?): {StoredTraces.Describe(missingAtEdge)}; {summary}");
        Assert.True(missingAtGateway.Count == 0, $"acknowledged but never reached the gateway: {StoredTraces.Describe(missingAtGateway)}; {summary}");
        Assert.True(atEdge.WholeRequestsOnly && atGateway.WholeRequestsOnly, $"a trace holds part of a request: {summary}");
    }

    /// <summary>Bytes under a store's blocks/ (what retention::max_bytes counts: blocks, indexes, summaries, recovered segments).</summary>
    private static long BlockBytes(string store)
    {
        var blocks = Path.Combine(store, "blocks");
        return Directory.Exists(blocks)
            ? new DirectoryInfo(blocks).EnumerateFiles("*", SearchOption.AllDirectories).Where(f => f.Extension is ".block" or ".index" or ".summary" or ".walseg").Sum(f => f.Length)
            : 0;
    }

    /// <summary>A loopback port nothing listens on now: the gateway binds it later, and the edge is told it before.</summary>
    internal static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static int Cycles(int defaultCycles) =>
        int.TryParse(Environment.GetEnvironmentVariable("TRACESEAL_KILL9_CYCLES"), CultureInfo.InvariantCulture, out var c) && c > 0 ? c : defaultCycles;

    private static int Seed() =>
        int.TryParse(Environment.GetEnvironmentVariable("TRACESEAL_KILL9_SEED"), CultureInfo.InvariantCulture, out var s) ? s : Environment.TickCount;

    /// <summary>
    /// Starts the collector, lets the senders go until a random number of acknowledgements in this cycle, then
    /// SIGKILLs it with requests still in flight; <paramref name="cycles"/> times. Returns the kill points.
    /// </summary>
    private static async Task<List<int>> KillRepeatedlyAsync(string config, LoadClient load, int cycles, Random random)
    {
        var kills = new List<int>(cycles);
        for (int cycle = 0; cycle < cycles; cycle++)
        {
            await using var collector = CollectorProcess.Start(config);
            var port = await collector.WaitReadyAsync(ReadyTimeout);

            // Kill points vary: right after the first acknowledgements, or deep into a burst.
            int killAfter = random.Next(4) == 0 ? random.Next(1, 8) : random.Next(8, 400);
            await load.Open(new Uri($"https://127.0.0.1:{port}"), killAfter).WaitAsync(CycleTimeout);
            load.Close();
            await collector.KillAsync();
            kills.Add(killAfter);
        }

        return kills;
    }

    /// <summary>SIGTERM and wait. 143 = 128 + SIGTERM: System.CommandLine reports the signal after the collector's drain completed.</summary>
    private static async Task StopGracefullyAsync(CollectorProcess collector) =>
        Assert.Contains(await collector.TerminateAsync(StopTimeout), new[] { 0, 143 });

    /// <summary>
    /// Polls the (running) gateway's store until it holds every acknowledged trace id; the load must have
    /// stopped. Returns how long that took; fails with the count still missing and the edge's log.
    /// </summary>
    private async Task<TimeSpan> WaitUntilStoredAsync(string directory, LoadClient load, CollectorProcess edge)
    {
        var acked = load.Acknowledged.ToArray();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var missing = StoredTraces.Read(directory, Identity).Missing(acked);
            if (missing.Count == 0)
            {
                return clock.Elapsed;
            }

            if (clock.Elapsed > ForwardTimeout)
            {
                Assert.Fail($"after {ForwardTimeout.TotalSeconds:0} s the gateway still misses {missing.Count} of {acked.Length} acknowledged traces " +
                    $"({StoredTraces.Describe(missing)}); the edge's log:\n{edge.Log()}");
            }

            await Task.Delay(ForwardPoll);
        }
    }

    private void Report(string summary)
    {
        _out.WriteLine(summary);
        if (Environment.GetEnvironmentVariable("TRACESEAL_KILL9_REPORT") is { Length: > 0 } report)
        {
            File.AppendAllText(report, summary + "\n");
        }
    }

    private string Files(string store)
    {
        var files = Directory.GetFiles(Path.Combine(_dir, store), "*", SearchOption.AllDirectories);
        int Count(string extension) => files.Count(f => f.EndsWith(extension, StringComparison.Ordinal));
        return $"{Count(".block")} .block, {Count(".index")} .index, {Count(".walseg")} .walseg, {Count(".wal")} .wal";
    }

    private void InitPkiAndKeys()
    {
        DevPki.Init(Certs, ["127.0.0.1", "localhost"]);
        KeyFiles.Init(Path.Combine(_dir, "keys"), "reader");
    }

    /// <summary>Writes a config next to certs/ and keys/ (paths in it are relative to its directory).</summary>
    private string Write(string name, string yaml)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, yaml);
        return path;
    }

    // Port 0: each start binds a fresh port and logs it, so a restart never waits for the old socket.
    private static string Receiver(string protocol, int port = 0) => $"""
        receivers:
          otlp:
            protocols:
              {protocol}:
                endpoint: 127.0.0.1:{port}
                tls:
                  cert_file: certs/server.crt
                  key_file: certs/server.key
                  client_ca_file: certs/ca.crt
        """;

    // Small segments and a short block age make kills land in segment rolls and block cuts too; blockMaxBytes cuts
    // blocks by size as well, retentionMaxBytes sets retention::max_bytes (smallSegments only).
    private static string SealedStore(string directory, bool smallSegments, string? blockMaxBytes = null, long? retentionMaxBytes = null) => $"""
          sealed_store:
            directory: {directory}
            recipients: [keys/reader.recipient.pem]
            durability: fsync
        """ + (smallSegments ? """

            wal:
              segment_bytes: 64KiB
            block:
              max_age: 300ms
        """ + (blockMaxBytes is null ? "" : $"""

              max_bytes: {blockMaxBytes}
        """) + (retentionMaxBytes is null ? "" : $"""

            retention:
              max_bytes: {retentionMaxBytes}
        """) : "");

    // No self-telemetry port: parallel test runs must not compete for 127.0.0.1:8888.
    private static string Service(string exporters, string? processors = null) => $"""
        service:
          telemetry:
            metrics:
              level: none
          pipelines:
            traces:
              receivers: [otlp]
        """ + (processors is null ? "" : $"""

              processors: {processors}
        """) + $"""

              exporters: {exporters}
        """;
}
