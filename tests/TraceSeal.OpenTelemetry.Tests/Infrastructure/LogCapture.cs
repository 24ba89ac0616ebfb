using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace TraceSeal.OpenTelemetry.Tests.Infrastructure;

/// <summary>Keeps the exporter's log lines (event name + message) so tests assert the exact refusal.</summary>
internal sealed class LogCapture : ILoggerProvider, ILoggerFactory
{
    private readonly ConcurrentQueue<(string EventName, LogLevel Level, string Message)> _lines = new();

    public IReadOnlyList<(string EventName, LogLevel Level, string Message)> Lines => [.. _lines];

    public IEnumerable<string> Messages(string eventName) => _lines.Where(l => l.EventName == eventName).Select(l => l.Message);

    public int Count(string eventName) => _lines.Count(l => l.EventName == eventName);

    public ILogger CreateLogger(string categoryName) => new Logger(_lines);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public override string ToString() => string.Join('\n', _lines.Select(l => $"{l.Level} [{l.EventName}] {l.Message}"));

    public void Dispose()
    {
    }

    private sealed class Logger(ConcurrentQueue<(string, LogLevel, string)> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue((eventId.Name ?? eventId.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), logLevel, formatter(state, exception)));
    }
}
