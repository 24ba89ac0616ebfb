using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Extensions.HealthCheck;
using TraceSeal.Collector.Hosting;
using TraceSeal.Collector.Tests.TestSupport;

namespace TraceSeal.Collector.Tests.Hosting;

/// <summary>The health_check extension: upstream's status codes and body, on its own port, for the collector's lifetime.</summary>
public sealed class HealthCheckTests : IDisposable
{
    private readonly HttpClient _http = new();
    private readonly ManualTimeProvider _time = new(); // 2025-01-02T00:00:00Z

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Answers_503_until_the_collector_runs_then_200_with_upstreams_body_then_503_when_it_stops()
    {
        await using var health = new HealthCheckExtension(new HealthCheckSettings { Name = "health_check", Endpoint = "127.0.0.1:0" }, NullLoggerFactory.Instance, _time);
        await health.StartAsync(CancellationToken.None);
        string url = $"http://127.0.0.1:{health.BoundEndpoint!.Port}/";

        using (var starting = await _http.GetAsync(url))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, starting.StatusCode);
            Assert.Equal("Server not available", Status(await starting.Content.ReadAsStringAsync()));
        }

        health.SetReady();
        _time.Advance(TimeSpan.FromSeconds(62.5));
        using (var running = await _http.GetAsync(url))
        {
            Assert.Equal(HttpStatusCode.OK, running.StatusCode);
            Assert.Equal("application/json", running.Content.Headers.ContentType!.MediaType);
            using var body = JsonDocument.Parse(await running.Content.ReadAsStringAsync());
            Assert.Equal("Server available", body.RootElement.GetProperty("status").GetString());
            Assert.Equal("2025-01-02T00:00:00Z", body.RootElement.GetProperty("upSince").GetString());
            Assert.Equal("1m2.5s", body.RootElement.GetProperty("uptime").GetString());
        }

        health.SetNotReady();
        using var stopping = await _http.GetAsync(url);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, stopping.StatusCode);
    }

    [Fact]
    public async Task Only_the_configured_path_answers_and_response_body_replaces_the_json()
    {
        await using var health = new HealthCheckExtension(
            new HealthCheckSettings { Name = "health_check", Endpoint = "127.0.0.1:0", Path = "/health/status", HealthyBody = "I'm OK", UnhealthyBody = "I'm not well" },
            NullLoggerFactory.Instance, _time);
        await health.StartAsync(CancellationToken.None);
        string root = $"http://127.0.0.1:{health.BoundEndpoint!.Port}";

        Assert.Equal("I'm not well", await (await _http.GetAsync(root + "/health/status")).Content.ReadAsStringAsync());
        health.SetReady();
        using var ok = await _http.GetAsync(root + "/health/status");
        Assert.Equal((HttpStatusCode.OK, "I'm OK"), (ok.StatusCode, await ok.Content.ReadAsStringAsync()));
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(root + "/")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await _http.PostAsync(root + "/health/status", new StringContent("x"))).StatusCode);
    }

    [Fact]
    public async Task A_collector_with_health_check_answers_200_while_it_runs_and_closes_the_port_when_it_stops()
    {
        int port = FreePort();
        using var dir = new TempDir();
        string yaml = $$"""
            extensions:
              health_check:
                endpoint: 127.0.0.1:{{port}}
            receivers:
              nop:
            exporters:
              nop:
            service:
              extensions: [health_check]
              pipelines:
                traces:
                  receivers: [nop]
                  exporters: [nop]
            """;
        var config = CollectorConfigLoader.Parse(yaml, Path.Combine(dir.Path, "collector.yaml"));
        var host = CollectorHost.Create(config, NullLoggerFactory.Instance);
        await host.StartAsync(CancellationToken.None);

        using (var running = await _http.GetAsync($"http://127.0.0.1:{port}/"))
        {
            Assert.Equal(HttpStatusCode.OK, running.StatusCode);
            Assert.Equal("Server available", Status(await running.Content.ReadAsStringAsync()));
        }

        await host.DisposeAsync();
        await Assert.ThrowsAsync<HttpRequestException>(() => _http.GetAsync($"http://127.0.0.1:{port}/"));
    }

    [Fact]
    public async Task A_taken_port_fails_the_start_naming_the_key()
    {
        await using var first = new HealthCheckExtension(new HealthCheckSettings { Name = "health_check", Endpoint = "127.0.0.1:0" }, NullLoggerFactory.Instance);
        await first.StartAsync(CancellationToken.None);
        await using var second = new HealthCheckExtension(new HealthCheckSettings { Name = "health_check/2", Endpoint = $"127.0.0.1:{first.BoundEndpoint!.Port}" }, NullLoggerFactory.Instance);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => second.StartAsync(CancellationToken.None));

        Assert.StartsWith($"extensions::health_check/2::endpoint: cannot listen on 127.0.0.1:{first.BoundEndpoint.Port}: ", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("set extensions::health_check/2::endpoint to a free port", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(750, "750ms")]
    [InlineData(62_500, "1m2.5s")]
    [InlineData(3_723_000, "1h2m3s")]
    public void Uptime_reads_as_a_go_duration(int milliseconds, string expected) =>
        Assert.Equal(expected, HealthCheckExtension.GoDurationText(TimeSpan.FromMilliseconds(milliseconds)));

    private static string? Status(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("status").GetString();
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("traceseal-health-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
