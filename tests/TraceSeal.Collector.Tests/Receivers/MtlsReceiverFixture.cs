using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Tests.TestSupport;

namespace TraceSeal.Collector.Tests.Receivers;

/// <summary>One mutual-TLS receiver (grpc + http, 1 MiB limit) shared by the tests of a class.</summary>
public sealed class MtlsReceiverFixture : IAsyncLifetime
{
    internal ReceiverTestPki Pki { get; } = new();

    internal ReceiverHarness Harness { get; private set; } = null!;

    internal HttpClient Client { get; private set; } = null!;

    /// <summary>Every log line of the receiver, Debug included: refusals must name their cause in the log.</summary>
    internal CapturingLoggerProvider Logs { get; } = new();

    private ILoggerFactory? _loggers;

    public async Task InitializeAsync()
    {
        _loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(Logs));
        Harness = await ReceiverHarness.StartAsync(Pki, loggerFactory: _loggers);
        Client = Harness.CreateClient(Pki.Client.Certificate);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Harness.DisposeAsync();
        _loggers?.Dispose();
        Pki.Dispose();
    }
}
