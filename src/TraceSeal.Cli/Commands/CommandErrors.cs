using System.Net.Sockets;
using System.Security.Cryptography;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Telemetry;

namespace TraceSeal.Cli.Commands;

/// <summary>A mistake on the command line (exit 2): a bad option value, options that contradict each other.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// The one place that turns a failed command into what the user reads: one line per cause, naming it and the fix,
/// and an exit code as the README says (1 failure, 2 usage). Never a stack trace for a user's mistake: a port in
/// use, a missing or wrong key file, a bad config are all expected. An exception of no known kind is a bug; it
/// still prints one line (set TRACESEAL_DEBUG=1 for the stack trace to report it).
/// </summary>
internal static class CommandErrors
{
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Report(e, Console.Error);
        }
    }

    public static int Run(Func<int> body) => RunAsync(() => Task.FromResult(body())).GetAwaiter().GetResult();

    /// <summary>Writes <paramref name="e"/> as the user should read it and returns the exit code.</summary>
    public static int Report(Exception e, TextWriter error)
    {
        switch (e)
        {
            case UsageException:
            case ArgumentException when e.Message.StartsWith("--", StringComparison.Ordinal):
                // Convention: a message that starts with the option's name is about how the command was called.
                error.WriteLine($"error: {e.Message}");
                return Program.ExitUsage;
            case ConfigException config:
                foreach (var line in config.Errors)
                {
                    error.WriteLine($"error: {line}");
                }

                return Program.ExitFailure;
            case TelemetryStartException or ReceiverStartException or IOException or UnauthorizedAccessException
                or ArgumentException or CryptographicException or InvalidOperationException or InvalidDataException
                or SocketException or HttpRequestException or NotSupportedException or FormatException:
                error.WriteLine($"error: {OneLine(e)}");
                return Program.ExitFailure;
            default:
                error.WriteLine($"error: unexpected {e.GetType().Name}: {OneLine(e)} (this is a TraceSeal bug; run again with TRACESEAL_DEBUG=1 for the stack trace and report it)");
                if (Environment.GetEnvironmentVariable("TRACESEAL_DEBUG") is "1" or "true")
                {
                    error.WriteLine(e.ToString());
                }

                return Program.ExitFailure;
        }
    }

    /// <summary>The message on one line; a wrapper's inner cause is kept when the outer message does not already say it.</summary>
    private static string OneLine(Exception e)
    {
        string message = e.Message;
        if (e.InnerException is { } inner && !message.Contains(inner.Message, StringComparison.Ordinal) && e is not (TelemetryStartException or ReceiverStartException))
        {
            message += $" ({inner.Message})";
        }

        return message.ReplaceLineEndings(" ");
    }
}
