using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Tests.TestSupport;

namespace TraceSeal.Collector.Tests.Exporters.Queue;

/// <summary>An upstream that can be down (a reserved port nobody listens on) and come up later on that same port.</summary>
internal sealed class SwitchableUpstream(ReceiverTestPki pki, OtlpExporterProtocol protocol) : IAsyncDisposable
{
    private OtlpReceiver? _receiver;

    public int Port { get; } = FreePort();

    public CountingSink Sink { get; } = new();

    public string Endpoint => protocol == OtlpExporterProtocol.Grpc ? $"127.0.0.1:{Port}" : $"https://127.0.0.1:{Port}";

    public async Task StartAsync()
    {
        var endpoint = new OtlpProtocolSettings { Endpoint = $"127.0.0.1:{Port}", Tls = pki.Tls(), MaxRequestBytes = 4 * 1024 * 1024 };
        var settings = new OtlpReceiverSettings
        {
            Name = "otlp",
            Grpc = protocol == OtlpExporterProtocol.Grpc ? endpoint : null,
            Http = protocol == OtlpExporterProtocol.Http ? endpoint : null,
        };
        _receiver = new OtlpReceiver(settings, Sink, NullLoggerFactory.Instance);
        await _receiver.StartAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        if (_receiver is not null)
        {
            await _receiver.DisposeAsync();
        }
    }

    /// <summary>A loopback port that was free a moment ago; connections to it are refused until <see cref="StartAsync"/>.</summary>
    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

internal static class QueueTestSupport
{
    /// <summary>A span name in every test batch (OtlpTestData.Traces): it must never appear in a queue file.</summary>
    public static readonly byte[] Marker = Encoding.UTF8.GetBytes("GET /checkout");

    /// <param name="numConsumers">sending_queue::num_consumers: the sender's requests in flight (upstream's default 10).</param>
    /// <param name="timeout">The per-attempt timeout, when not the settings' own.</param>
    public static OtlpExporterSettings WithQueue(OtlpExporterSettings settings, string directory, string keyFile, long maxBacklogBytes = 64L * 1024 * 1024, string? name = null,
        int numConsumers = 10, TimeSpan? timeout = null) => new()
    {
        Name = name ?? settings.Name,
        Protocol = settings.Protocol,
        Endpoint = settings.Endpoint,
        Tls = settings.Tls,
        Compression = settings.Compression,
        Timeout = timeout ?? settings.Timeout,
        Retry = settings.Retry,
        Queue = new SendingQueueSettings { Directory = directory, QueueKeyFile = keyFile, MaxBacklogBytes = maxBacklogBytes, NumConsumers = numConsumers },
    };

    /// <summary>Every file under the queue directory that contains the marker (must be none).</summary>
    public static string[] FilesWithPlaintext(string directory) =>
        [.. Directory.GetFiles(directory, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != Collector.Exporters.Otlp.Queue.QueueLog.LockFileName) // empty, and flock'd by the exporter
            .Where(f => File.ReadAllBytes(f).AsSpan().IndexOf(Marker) >= 0)];

    public static string[] Segments(string directory) => Directory.GetFiles(directory, "*" + Collector.Exporters.Otlp.Queue.QueueLog.Extension);
}

/// <summary>
/// Holds every request at the sink (the receiver answers only when it returns) until <see cref="ReleaseAt"/> are held
/// at once (then it lets all through, now and later) or the test releases them one by one; counts those held at once.
/// </summary>
internal sealed class HeldRequests
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _one = new(0);
    private readonly System.Collections.Concurrent.ConcurrentQueue<int> _arrivals = new();
    private int _held;
    private int _maxHeld;

    public HeldRequests(CountingSink sink) => sink.Behavior = HoldAsync;

    public int ReleaseAt { get; init; }

    public int Held => Volatile.Read(ref _held);

    public int MaxHeld => Volatile.Read(ref _maxHeld);

    /// <summary>The span counts of the requests, in the order they reached the sink.</summary>
    public IReadOnlyCollection<int> Arrivals => _arrivals;

    public void ReleaseOne() => _one.Release();

    public async Task WaitReleasedAsync(TimeSpan timeout)
    {
        try
        {
            await _released.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"at most {MaxHeld} request(s) were held at the sink at once, never {ReleaseAt}");
        }
    }

    private async ValueTask<SinkResult> HoldAsync(ReceivedBatch batch, CancellationToken cancellationToken)
    {
        int now = Interlocked.Increment(ref _held); // before the arrival is seen: a test that sees it sees it held
        _arrivals.Enqueue(batch.ItemCount);
        for (int max = Volatile.Read(ref _maxHeld); now > max && Interlocked.CompareExchange(ref _maxHeld, now, max) != max; max = Volatile.Read(ref _maxHeld))
        {
        }

        if (now >= ReleaseAt)
        {
            _released.TrySetResult();
        }

        try
        {
            await Task.WhenAny(_released.Task, _one.WaitAsync(cancellationToken)).WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _held);
        }

        return SinkResult.Ok;
    }
}
