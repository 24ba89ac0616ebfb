using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using TraceSeal.Otlp;

namespace TraceSeal.Serve.Tests.TestSupport;

/// <summary>
/// A store with <see cref="ServeData"/> (the failing trace in a block, healthy traces, logs and a metric in the live WAL),
/// and `serve` over it on 127.0.0.1:0. Every log line at every level is captured, and every response body a test reads
/// through <see cref="GetAsync"/> is kept, so a test can show the token and the key never appear in either.
/// </summary>
public class ServeFixture : IAsyncLifetime
{
    private readonly StoreBuilder _store = new();
    private readonly CapturingLoggerProvider _logs = new();
    private ILoggerFactory? _loggerFactory;

    internal ServeHost Host { get; private set; } = null!;

    internal StoreBuilder Store => _store;

    public ConcurrentQueue<string> Bodies { get; } = new();

    public IReadOnlyCollection<string> LogLines => _logs.Lines;

    public string Token => Host.Auth.Token;

    public HttpClient Anonymous { get; } = new(new HttpClientHandler { UseCookies = false }) { Timeout = TimeSpan.FromSeconds(30) };

    public HttpClient Client { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    public async Task InitializeAsync()
    {
        await WriteStoreAsync(_store);
        _loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(_logs));
        Host = new ServeHost(new ServeOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0) }, _store.Reader(), _store.Store, _loggerFactory);
        await Host.StartAsync(CancellationToken.None);
        Client.BaseAddress = Anonymous.BaseAddress = new Uri(Host.BaseUrl);
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        _loggerFactory?.Dispose();
        Client.Dispose();
        Anonymous.Dispose();
        _store.Dispose();
    }

    /// <summary>What the store holds before serve starts; a fixture of other data overrides it.</summary>
    internal virtual async Task WriteStoreAsync(StoreBuilder store)
    {
        await store.WriteAsync(cut: true, (ServeData.Failing(), OtlpSignal.Traces));
        await store.WriteAsync(cut: false, (ServeData.Healthy(3), OtlpSignal.Traces), (ServeData.Logs(), OtlpSignal.Logs), (ServeData.Metrics(), OtlpSignal.Metrics));
    }

    /// <summary>GET with the token; the body is kept for the never-echoed checks.</summary>
    public async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> GetAsync(string path, HttpClient? client = null, string? accept = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (accept is not null)
        {
            request.Headers.Accept.ParseAdd(accept);
        }

        var response = await (client ?? Client).SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Bodies.Enqueue(body);
        foreach (var header in response.Headers.Concat(response.Content.Headers))
        {
            Bodies.Enqueue(header.Key + ": " + string.Join(", ", header.Value));
        }

        return (response.StatusCode, body, response);
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyCollection<string> Lines => _lines;

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

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
                lines.Enqueue($"{logLevel} {category}[{eventId.Id}] {formatter(state, exception)} {exception}");
            }
        }
    }
}
