using TraceSeal.Collector.Tests.TestSupport;

namespace TraceSeal.Collector.Tests.Receivers;

/// <summary>One mutual-TLS receiver (grpc + http, 1 MiB limit) shared by the tests of a class.</summary>
public sealed class MtlsReceiverFixture : IAsyncLifetime
{
    internal ReceiverTestPki Pki { get; } = new();

    internal ReceiverHarness Harness { get; private set; } = null!;

    internal HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Harness = await ReceiverHarness.StartAsync(Pki);
        Client = Harness.CreateClient(Pki.Client.Certificate);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Harness.DisposeAsync();
        Pki.Dispose();
    }
}
