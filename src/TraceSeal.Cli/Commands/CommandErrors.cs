using System.Security.Cryptography;
using TraceSeal.Collector.Config;

namespace TraceSeal.Cli.Commands;

/// <summary>
/// Turns the expected failures of a command (bad files, bad config, refused overwrite) into one clear
/// message and exit code 1. Anything else is a bug and keeps its stack trace.
/// </summary>
internal static class CommandErrors
{
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception e) when (e is ConfigException or IOException or UnauthorizedAccessException
                                      or ArgumentException or CryptographicException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return Program.ExitFailure;
        }
    }

    public static int Run(Func<int> body) => RunAsync(() => Task.FromResult(body())).GetAwaiter().GetResult();
}
