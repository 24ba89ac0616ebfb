using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Otlp;
using TraceSeal.Pki;
using TraceSeal.Query;
using TraceSeal.Sealing;
using Xunit.Abstractions;

namespace TraceSeal.Storage.Tests.Crash;

/// <summary>
/// Durability of acknowledgements: the real collector binary ingests over mTLS into the sealed store (fsync)
/// while it is killed with SIGKILL again and again, at a different number of acknowledgements each time.
/// Afterwards every trace id that got a 200 must be in the store (at-least-once: duplicates are counted, not
/// failed). TRACESEAL_KILL9_CYCLES overrides the number of kill cycles (bench/reliability/kill9.sh uses 20).
/// </summary>
[Trait("Category", "Reliability")]
public sealed class Kill9Tests : IDisposable
{
    private const int Senders = 8;
    private const int SpansPerRequest = 4;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CycleTimeout = TimeSpan.FromSeconds(30);

    private readonly ITestOutputHelper _out;
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-kill9-").FullName;

    public Kill9Tests(ITestOutputHelper output)
    {
        _out = output;
    }

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
        int cycles = int.TryParse(Environment.GetEnvironmentVariable("TRACESEAL_KILL9_CYCLES"), CultureInfo.InvariantCulture, out var c) && c > 0 ? c : 10;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("TRACESEAL_KILL9_SEED"), CultureInfo.InvariantCulture, out var s) ? s : Environment.TickCount;
        var random = new Random(seed);
        var config = WriteConfig();
        var clock = Stopwatch.StartNew();

        using var load = new LoadClient(Path.Combine(_dir, "certs"));
        var senders = load.Start(Senders);
        var kills = new List<string>();
        try
        {
            for (int cycle = 0; cycle < cycles; cycle++)
            {
                await using var collector = CollectorProcess.Start(config);
                var port = await collector.WaitReadyAsync(ReadyTimeout);

                // Kill points vary: right after the first acknowledgements, or deep into a burst.
                int killAfter = random.Next(4) == 0 ? random.Next(1, 8) : random.Next(8, 400);
                var reached = load.Open(new Uri($"https://127.0.0.1:{port}"), killAfter);
                await reached.WaitAsync(CycleTimeout);
                load.Close();
                await collector.KillAsync();
                kills.Add($"{killAfter}");
            }

            // One more start recovers the last crash; a graceful stop (SIGTERM) then cuts blocks.
            await using (var last = CollectorProcess.Start(config))
            {
                var port = await last.WaitReadyAsync(ReadyTimeout);
                await load.Open(new Uri($"https://127.0.0.1:{port}"), 50).WaitAsync(CycleTimeout);
                load.Close();
                // 143 = 128 + SIGTERM: System.CommandLine reports the signal after the collector's drain completed.
                Assert.Contains(await last.TerminateAsync(TimeSpan.FromSeconds(30)), new[] { 0, 143 });
            }
        }
        finally
        {
            await load.StopAsync(senders);
        }

        var stored = ReadStore();
        var acked = load.Acknowledged.ToArray();
        var missing = acked.Where(id => !stored.ContainsKey(id)).ToList();
        int duplicates = stored.Values.Count(n => n > SpansPerRequest);
        int storedNotAcked = stored.Keys.Count(id => !load.AcknowledgedSet.ContainsKey(id));
        var summary =
            $"kill9: seed {seed}, {cycles} SIGKILL cycles (kill after {string.Join(",", kills)} acks) + 1 graceful stop in {clock.Elapsed.TotalSeconds:F1} s; " +
            $"requests sent {load.Sent}, acknowledged {acked.Length}, failed/refused {load.Failed}; " +
            $"stored traces {stored.Count} (spans {stored.Values.Sum()}), acknowledged missing {missing.Count}, " +
            $"duplicated {duplicates}, stored but never acknowledged {storedNotAcked}; files: {Count(".block")} .block, " +
            $"{Count(".index")} .index, {Count(".walseg")} .walseg, {Count(".wal")} .wal";
        _out.WriteLine(summary);
        if (Environment.GetEnvironmentVariable("TRACESEAL_KILL9_REPORT") is { Length: > 0 } report)
        {
            File.WriteAllText(report, summary + "\n");
        }

        Assert.True(acked.Length >= cycles, $"too few acknowledgements to prove anything: {summary}");
        Assert.True(missing.Count == 0, $"acknowledged but lost: {string.Join(", ", missing.Take(10).Select(k => Convert.ToHexStringLower(k.ToBytes())))}; {summary}");
        Assert.All(stored.Values, n => Assert.Equal(0, n % SpansPerRequest)); // whole requests only
    }

    private int Count(string extension) =>
        Directory.GetFiles(Path.Combine(_dir, "data"), "*" + extension, SearchOption.AllDirectories).Count(f => f.EndsWith(extension, StringComparison.Ordinal));

    private string WriteConfig()
    {
        var certs = Path.Combine(_dir, "certs");
        DevPki.Init(certs, ["127.0.0.1", "localhost"]);
        KeyFiles.Init(Path.Combine(_dir, "keys"), "reader");
        var path = Path.Combine(_dir, "collector.yaml");

        // Port 0: each start binds a fresh port and logs it, so a restart never waits for the old socket.
        // Small segments and a short block age make kills land in segment rolls and block cuts too.
        File.WriteAllText(path, """
            receivers:
              otlp:
                protocols:
                  http:
                    endpoint: 127.0.0.1:0
                    tls:
                      cert_file: certs/server.crt
                      key_file: certs/server.key
                      client_ca_file: certs/ca.crt
            exporters:
              sealed_store:
                directory: data
                recipients: [keys/reader.recipient.pem]
                durability: fsync
                wal:
                  segment_bytes: 64KiB
                block:
                  max_age: 300ms
            service:
              # No self-telemetry port: parallel test runs must not compete for 127.0.0.1:8888.
              telemetry:
                metrics:
                  level: none
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [sealed_store]
            """);
        return path;
    }

    /// <summary>Spans per trace id over the whole store, read with the reader library (every object authenticated).</summary>
    private Dictionary<TraceKey, int> ReadStore()
    {
        var reader = new StoreReader(Path.Combine(_dir, "data"), [KeyFiles.LoadIdentity(Path.Combine(_dir, "keys", "reader.identity.pem"))]);
        var spans = new Dictionary<TraceKey, int>();
        foreach (var tenant in reader.Tenants())
        {
            foreach (var record in reader.ReadRecords(tenant))
            {
                if (record.Signal != OtlpSignal.Traces)
                {
                    continue;
                }

                var request = ExportTraceServiceRequest.Parser.ParseFrom(record.Payload.Span);
                foreach (var span in request.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans))
                {
                    var key = TraceKey.From(span.TraceId.Span);
                    spans[key] = spans.GetValueOrDefault(key) + 1;
                }
            }
        }

        return spans;
    }

    /// <summary>A trace id as a dictionary key.</summary>
    internal readonly record struct TraceKey(ulong High, ulong Low)
    {
        public static TraceKey From(ReadOnlySpan<byte> id) =>
            new(BinaryPrimitives.ReadUInt64BigEndian(id), BinaryPrimitives.ReadUInt64BigEndian(id[8..]));

        public byte[] ToBytes()
        {
            var id = new byte[16];
            BinaryPrimitives.WriteUInt64BigEndian(id, High);
            BinaryPrimitives.WriteUInt64BigEndian(id.AsSpan(8), Low);
            return id;
        }
    }

    /// <summary>
    /// OTLP/HTTP protobuf over mTLS from several concurrent senders; every request carries its own trace id
    /// and is recorded as acknowledged only on 200. Senders wait on a gate while the collector is down.
    /// </summary>
    private sealed class LoadClient : IDisposable
    {
        private readonly HttpClient _client;
        private readonly ulong _run = BinaryPrimitives.ReadUInt64BigEndian(RandomNumberGenerator.GetBytes(8));
        private readonly CancellationTokenSource _stop = new();
        private readonly Lock _gate = new();
        private TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Uri? _endpoint;
        private long _next;
        private long _cycleAcks;
        private long _target;
        private long _sent;
        private long _failed;

        public LoadClient(string certs)
        {
            var ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(certs, "ca.crt")));
            var client = X509Certificate2.CreateFromPemFile(Path.Combine(certs, "client.crt"), Path.Combine(certs, "client.key"));
            var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            policy.CustomTrustStore.Add(ca);
            var handler = new SocketsHttpHandler
            {
                SslOptions = new SslClientAuthenticationOptions { ClientCertificates = [client], CertificateChainPolicy = policy },
                ConnectTimeout = TimeSpan.FromSeconds(5),
            };
            _client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(15), DefaultRequestVersion = HttpVersion.Version11 };
        }

        public ConcurrentDictionary<TraceKey, byte> AcknowledgedSet { get; } = new();

        public ConcurrentQueue<TraceKey> Acknowledged { get; } = new();

        public long Sent => Interlocked.Read(ref _sent);

        public long Failed => Interlocked.Read(ref _failed);

        public Task[] Start(int senders) => [.. Enumerable.Range(0, senders).Select(_ => Task.Run(SendLoopAsync))];

        /// <summary>Lets the senders go to <paramref name="endpoint"/>; the task completes after <paramref name="acks"/> more acknowledgements.</summary>
        public Task Open(Uri endpoint, int acks)
        {
            lock (_gate)
            {
                _endpoint = endpoint;
                Interlocked.Exchange(ref _cycleAcks, 0);
                Interlocked.Exchange(ref _target, acks);
                _reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _open.TrySetResult();
                return _reached.Task;
            }
        }

        /// <summary>New requests wait; requests in flight run on and meet the kill.</summary>
        public void Close()
        {
            lock (_gate)
            {
                if (_open.Task.IsCompleted)
                {
                    _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }
        }

        public async Task StopAsync(Task[] senders)
        {
            await _stop.CancelAsync();
            await Task.WhenAll(senders);
        }

        public void Dispose()
        {
            _client.Dispose();
            _stop.Dispose();
        }

        private async Task SendLoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                Task open;
                Uri? endpoint;
                TaskCompletionSource reached;
                lock (_gate)
                {
                    open = _open.Task;
                    endpoint = _endpoint;
                    reached = _reached;
                }

                if (!open.IsCompleted)
                {
                    try
                    {
                        await open.WaitAsync(_stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    continue;
                }

                var key = new TraceKey(_run, (ulong)Interlocked.Increment(ref _next));
                Interlocked.Increment(ref _sent);
                try
                {
                    using var content = new ByteArrayContent(Request(key).ToByteArray());
                    content.Headers.ContentType = new("application/x-protobuf");
                    using var response = await _client.PostAsync(new Uri(endpoint!, "/v1/traces"), content, _stop.Token);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        AcknowledgedSet[key] = 0;
                        Acknowledged.Enqueue(key);
                        if (Interlocked.Increment(ref _cycleAcks) >= Interlocked.Read(ref _target))
                        {
                            reached.TrySetResult();
                        }
                    }
                    else
                    {
                        Interlocked.Increment(ref _failed);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
                {
                    // The collector was killed under this request: it was never acknowledged, so it is not counted.
                    Interlocked.Increment(ref _failed);
                }
            }
        }

        private static ExportTraceServiceRequest Request(TraceKey key)
        {
            var traceId = ByteString.CopyFrom(key.ToBytes());
            var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "kill9" } };
            ulong start = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000UL;
            for (int i = 0; i < SpansPerRequest; i++)
            {
                var spanId = new byte[8];
                BinaryPrimitives.WriteUInt64BigEndian(spanId, key.Low * SpansPerRequest + (ulong)i + 1);
                scope.Spans.Add(new Span
                {
                    TraceId = traceId,
                    SpanId = ByteString.CopyFrom(spanId),
                    Name = i == 0 ? "POST /checkout" : "db.query",
                    Kind = i == 0 ? Span.Types.SpanKind.Server : Span.Types.SpanKind.Client,
                    StartTimeUnixNano = start + (ulong)i,
                    EndTimeUnixNano = start + 1_000_000UL,
                    Attributes = { new KeyValue { Key = "kill9.request", Value = new AnyValue { IntValue = (long)key.Low } } },
                });
            }

            return new ExportTraceServiceRequest
            {
                ResourceSpans =
                {
                    new ResourceSpans
                    {
                        Resource = new Resource { Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "kill9" } } } },
                        ScopeSpans = { scope },
                    },
                },
            };
        }
    }
}
