using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Receivers;
using TraceSeal.Otlp;

namespace TraceSeal.OpenTelemetry.Tests.Infrastructure;

/// <summary>One batch as the receiver's sink saw it (the payload copied).</summary>
internal sealed record Received(OtlpSignal Signal, int ItemCount, string Identity, byte[] Payload);

/// <summary>
/// A real OtlpReceiver (Kestrel) on 127.0.0.1 with OTLP/gRPC and OTLP/HTTP on ephemeral ports, requiring client
/// certificates from the test CA. Its sink records every batch and can refuse the first N (retryable) to
/// exercise retry.
/// </summary>
internal sealed class Receiver : IAsyncDisposable, ITelemetrySink
{
    private readonly OtlpReceiver _receiver;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ConcurrentQueue<Received> _batches = new();
    private int _refuseRemaining;
    private TimeSpan _refuseRetryAfter;

    private Receiver(OtlpReceiverSettings settings)
    {
        _loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning));
        _receiver = new OtlpReceiver(settings, this, _loggerFactory);
    }

    public IPEndPoint GrpcEndpoint => _receiver.GrpcEndpoint ?? throw new InvalidOperationException("gRPC endpoint not bound");

    public IPEndPoint HttpEndpoint => _receiver.HttpEndpoint ?? throw new InvalidOperationException("HTTP endpoint not bound");

    public string GrpcUrl => $"https://127.0.0.1:{GrpcEndpoint.Port}";

    public string HttpUrl => $"https://127.0.0.1:{HttpEndpoint.Port}";

    public string Url(string protocol) => protocol == "grpc" ? GrpcUrl : HttpUrl;

    public IReadOnlyList<Received> Batches => [.. _batches];

    /// <summary>A TCP port nothing listens on now (the collector is down); a receiver may be started on it later.</summary>
    public static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public long Spans => _batches.Where(b => b.Signal == OtlpSignal.Traces).Sum(b => (long)b.ItemCount);

    /// <summary>The next <paramref name="count"/> requests get a retryable refusal (UNAVAILABLE + RetryInfo / 503 + Retry-After).</summary>
    public void RefuseNext(int count, TimeSpan retryAfter)
    {
        _refuseRetryAfter = retryAfter;
        Volatile.Write(ref _refuseRemaining, count);
    }

    /// <summary>Starts on ephemeral ports, or on the given ones (a collector that comes back where the app expects it).</summary>
    public static async Task<Receiver> StartAsync(TestPki pki, string? serverCertificate = null, string? serverKey = null, int grpcPort = 0, int httpPort = 0)
    {
        var tls = new TlsServerSettings
        {
            CertFile = serverCertificate ?? pki.ServerCertificate,
            KeyFile = serverKey ?? pki.ServerKey,
            ClientCaFile = pki.CaCertificate,
        };
        var settings = new OtlpReceiverSettings
        {
            Name = "otlp",
            Grpc = new OtlpProtocolSettings { Endpoint = $"127.0.0.1:{grpcPort}", Tls = tls, MaxRequestBytes = 4 * 1024 * 1024 },
            Http = new OtlpProtocolSettings { Endpoint = $"127.0.0.1:{httpPort}", Tls = tls, MaxRequestBytes = 4 * 1024 * 1024 },
        };

        var receiver = new Receiver(settings);
        try
        {
            using var startTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await receiver._receiver.StartAsync(startTimeout.Token);
        }
        catch
        {
            await receiver.DisposeAsync();
            throw;
        }

        return receiver;
    }

    public ValueTask<SinkResult> AcceptAsync(ReceivedBatch batch, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _refuseRemaining) > 0 && Interlocked.Decrement(ref _refuseRemaining) >= 0)
        {
            return ValueTask.FromResult(SinkResult.Refuse(_refuseRetryAfter, "test: refused on purpose"));
        }

        _batches.Enqueue(new Received(batch.Signal, batch.ItemCount, batch.Identity, batch.Payload.ToArray()));
        return ValueTask.FromResult(SinkResult.Ok);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _receiver.StopAsync(stopTimeout.Token);
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }
        finally
        {
            await _receiver.DisposeAsync();
            _loggerFactory.Dispose();
        }
    }
}
