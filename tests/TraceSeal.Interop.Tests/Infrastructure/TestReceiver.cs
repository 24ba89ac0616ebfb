using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Tls;

namespace TraceSeal.Interop.Tests.Infrastructure;

/// <summary>
/// A real OtlpReceiver (Kestrel) on 127.0.0.1 with OTLP/gRPC and OTLP/HTTP on ephemeral ports, both
/// requiring client certificates from the test CA (client_ca_file), delivering into a <see cref="CountingSink"/>.
/// </summary>
internal sealed class TestReceiver : IAsyncDisposable
{
    private readonly OtlpReceiver _receiver;
    private readonly ILoggerFactory _loggerFactory;

    private TestReceiver(OtlpReceiver receiver, CountingSink sink, ILoggerFactory loggerFactory, LogCollector logs)
    {
        _receiver = receiver;
        _loggerFactory = loggerFactory;
        Sink = sink;
        Logs = logs;
    }

    public CountingSink Sink { get; }

    /// <summary>The receiver's own counters: accepted items and refused handshakes by reason.</summary>
    public ReceiverCounters Counters => _receiver.Counters;

    public LogCollector Logs { get; }

    public IPEndPoint GrpcEndpoint => _receiver.GrpcEndpoint ?? throw new InvalidOperationException("gRPC endpoint not bound");

    public IPEndPoint HttpEndpoint => _receiver.HttpEndpoint ?? throw new InvalidOperationException("HTTP endpoint not bound");

    /// <summary>The URL an SDK gets in OTEL_EXPORTER_OTLP_ENDPOINT (IP literal: the server certificate has it as a SAN).</summary>
    public string GrpcUrl => $"https://127.0.0.1:{GrpcEndpoint.Port}";

    public string HttpUrl => $"https://127.0.0.1:{HttpEndpoint.Port}";

    /// <summary>Waits (bounded) until the receiver has counted a refused handshake of this kind: the client may
    /// see the connection close a moment before the server books the reason.</summary>
    public Task WaitForHandshakeFailureAsync(HandshakeFailure failure) =>
        Eventually.WaitUntilAsync(
            () => Counters.HandshakeFailed(failure) > 0,
            TimeSpan.FromSeconds(10),
            () => $"a refused handshake counted as {failure}; counted {Counters.TotalHandshakeFailures} of all kinds\n--- receiver log ---\n{Logs}");

    public static async Task<TestReceiver> StartAsync(InteropPki pki)
    {
        var tls = new TlsServerSettings
        {
            CertFile = pki.ServerCertificate,
            KeyFile = pki.ServerKey,
            ClientCaFile = pki.CaCertificate,
        };
        var settings = new OtlpReceiverSettings
        {
            Name = "otlp",
            Grpc = new OtlpProtocolSettings { Endpoint = "127.0.0.1:0", Tls = tls, MaxRequestBytes = 4 * 1024 * 1024 },
            Http = new OtlpProtocolSettings { Endpoint = "127.0.0.1:0", Tls = tls, MaxRequestBytes = 20 * 1024 * 1024 },
        };

        var logs = new LogCollector();
        var loggerFactory = LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        var sink = new CountingSink();
        var receiver = new OtlpReceiver(settings, sink, loggerFactory);
        try
        {
            using var startTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await receiver.StartAsync(startTimeout.Token);
        }
        catch
        {
            await receiver.DisposeAsync();
            loggerFactory.Dispose();
            throw;
        }

        return new TestReceiver(receiver, sink, loggerFactory, logs);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _receiver.StopAsync(stopTimeout.Token);
        }
        finally
        {
            await _receiver.DisposeAsync();
            _loggerFactory.Dispose();
        }
    }
}

/// <summary>Keeps the receiver's log lines so a failing assertion can show them.</summary>
internal sealed class LogCollector : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public override string ToString() => string.Join('\n', _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lines.Enqueue($"{logLevel} {category}[{eventId.Id}] {formatter(state, exception)}{(exception is null ? string.Empty : " " + exception.Message)}");
        }
    }
}
