using TraceSeal.Pki;

namespace TraceSeal.LoadGen.Tests;

/// <summary>Short runs against a real collector: what loadgen reports as acknowledged is what the server counted.</summary>
public sealed class LoadAgainstCollectorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ts-loadgen-").FullName;

    public LoadAgainstCollectorTests() => DevPki.Init(Path.Combine(_dir, "pki"), ["localhost", "127.0.0.1"]);

    [Fact]
    public async Task Acknowledged_spans_equal_the_spans_the_collector_counted_for_every_protocol()
    {
        await using var collector = await CollectorUnderTest.StartAsync(Path.Combine(_dir, "pki"));
        long expected = 0;

        foreach (var (protocol, endpoint) in new[]
                 {
                     (LoadProtocol.Grpc, collector.GrpcEndpoint),
                     (LoadProtocol.HttpProtobuf, collector.HttpEndpoint),
                     (LoadProtocol.HttpJson, collector.HttpEndpoint),
                 })
        {
            var result = await LoadRunner.RunAsync(Options(endpoint, protocol, Path.Combine(_dir, "pki", "ca.crt")), progress: null, CancellationToken.None);

            Assert.Empty(result.ErrorsByStatus);
            Assert.True(result.Requests > 0, $"{protocol}: nothing acknowledged");
            Assert.Equal(result.Requests * 20, result.Spans);
            expected += result.Spans;
            Assert.Equal(expected, collector.SpansCounted);
        }
    }

    [Fact]
    public async Task A_server_certificate_from_another_CA_is_refused_and_says_why()
    {
        await using var collector = await CollectorUnderTest.StartAsync(Path.Combine(_dir, "pki"));
        DevPki.Init(Path.Combine(_dir, "other"), ["127.0.0.1"]);

        var result = await LoadRunner.RunAsync(
            Options(collector.HttpEndpoint, LoadProtocol.HttpProtobuf, Path.Combine(_dir, "other", "ca.crt")) with { Duration = TimeSpan.FromMilliseconds(300) },
            progress: null,
            CancellationToken.None);

        Assert.Equal(0, result.Requests);
        var label = Assert.Single(result.ErrorsByStatus).Key;
        Assert.StartsWith("tls: the server certificate CN=", label, StringComparison.Ordinal);
        Assert.Contains("does not chain to the --ca file", label, StringComparison.Ordinal);
        Assert.Equal(0, collector.SpansCounted);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private LoadOptions Options(Uri endpoint, LoadProtocol protocol, string ca) => new()
    {
        Endpoint = endpoint,
        Protocol = protocol,
        CaFile = ca,
        CertFile = Path.Combine(_dir, "pki", "client.crt"),
        KeyFile = Path.Combine(_dir, "pki", "client.key"),
        Duration = TimeSpan.FromSeconds(1),
        SpansPerRequest = 20,
        Connections = 2,
        Concurrency = 2,
    };
}
