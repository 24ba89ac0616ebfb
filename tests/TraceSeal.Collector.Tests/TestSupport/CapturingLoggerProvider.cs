using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace TraceSeal.Collector.Tests.TestSupport;

/// <summary>
/// Keeps every formatted log line, so tests can assert the exact operator-facing text, and every logged
/// exception with its category (Kestrel logs an unhandled request-delegate exception only there).
/// </summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, string Text)> _messages = new();
    private readonly ConcurrentQueue<(string Category, Exception Exception)> _exceptions = new();

    public IReadOnlyCollection<(LogLevel Level, string Text)> Messages => _messages;

    public IReadOnlyCollection<(string Category, Exception Exception)> Exceptions => _exceptions;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _messages, _exceptions);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<(LogLevel, string)> messages, ConcurrentQueue<(string, Exception)> exceptions) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            messages.Enqueue((logLevel, formatter(state, exception)));
            if (exception is not null)
            {
                exceptions.Enqueue((category, exception));
            }
        }
    }
}
