using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace TraceSeal.Storage.Tests.TestSupport;

/// <summary>Keeps every formatted line with its level, so a test can count what an operator would see.</summary>
internal sealed class LineLogger : ILogger
{
    private readonly ConcurrentQueue<(LogLevel Level, string Text)> _lines = new();

    public IReadOnlyCollection<(LogLevel Level, string Text)> Lines => _lines;

    public int Count(LogLevel level, string contains) => _lines.Count(l => l.Level == level && l.Text.Contains(contains, StringComparison.Ordinal));

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _lines.Enqueue((logLevel, formatter(state, exception)));
}
