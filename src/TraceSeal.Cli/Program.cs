using System.CommandLine;
using TraceSeal.Cli.Commands;

namespace TraceSeal.Cli;

/// <summary>
/// `traceseal`: exit codes are the same for every command — 0 success, 1 failure or findings, 2 usage error.
/// Whatever a command throws ends here as one line (<see cref="CommandErrors.Report"/>), never a stack trace.
/// </summary>
internal static class Program
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 2;

    /// <summary>How long a stop signal waits for the command to finish: the collector's drain (30 s) plus margin.</summary>
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(40);

    public static async Task<int> Main(string[] args)
    {
        var root = BuildRoot();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                await Console.Error.WriteLineAsync($"error: {error.Message}").ConfigureAwait(false);
            }

            await Console.Error.WriteLineAsync($"Run '{string.Join(' ', CommandPath(parse))} --help' for usage.").ConfigureAwait(false);
            return ExitUsage;
        }

        // SIGINT / SIGTERM cancel the command's token; the collector then drains (up to 30 s). The default
        // 2 s grace would cut that drain short and exit 143 with blocks not yet cut.
        // The default exception handler prints "Unhandled exception" and the stack trace; every failure is reported
        // as one line instead, by the same table the commands use.
        var invocation = new InvocationConfiguration { ProcessTerminationTimeout = DrainGrace, EnableDefaultExceptionHandler = false };
        try
        {
            return await parse.InvokeAsync(invocation).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return CommandErrors.Report(e, Console.Error);
        }
    }

    internal static RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "TraceSeal: a secure OpenTelemetry trace pipeline. OTLP over mutual TLS in, sealed (encrypted and " +
            "authenticated) data at rest, and tools that prove it.");
        root.Subcommands.Add(UpCommand.Create());
        root.Subcommands.Add(CollectorCommand.Create());
        root.Subcommands.Add(CertsCommand.Create());
        root.Subcommands.Add(KeysCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(QueryCommand.Create());
        root.Subcommands.Add(CompactCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(LoadgenCommand.Create());
        return root;
    }

    private static IEnumerable<string> CommandPath(ParseResult parse)
    {
        var names = new Stack<string>();
        for (var r = parse.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Push(r.Command is RootCommand ? "traceseal" : r.Command.Name);
        }

        return names;
    }
}
