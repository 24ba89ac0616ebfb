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
        var root = BuildRoot(args.Length > 0 ? args[0] : null);
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

    /// <summary>The commands, in `--help` order. Names only until one is built: building all of them is start-up time.</summary>
    private static readonly (string Name, Func<Command> Create)[] Commands =
    [
        ("up", UpCommand.Create),
        ("collector", CollectorCommand.Create),
        ("certs", CertsCommand.Create),
        ("keys", KeysCommand.Create),
        ("verify", VerifyCommand.Create),
        ("query", QueryCommand.Create),
        ("compact", CompactCommand.Create),
        ("serve", ServeCommand.Create),
        ("loadgen", LoadgenCommand.Create),
    ];

    internal static RootCommand BuildRoot() => BuildRoot(only: null);

    /// <summary>
    /// The root with every command, or, when <paramref name="only"/> names one, with that command alone: a cold
    /// `traceseal query` then neither builds nor JIT-compiles the options of the eight others (nor loads what they
    /// reference). Parsing, help and errors of that command are the same either way; anything else gets every command.
    /// </summary>
    internal static RootCommand BuildRoot(string? only)
    {
        var root = new RootCommand(
            "TraceSeal: a secure OpenTelemetry trace pipeline. OTLP over mutual TLS in, sealed (encrypted and " +
            "authenticated) data at rest, and tools that prove it.");
        bool known = Array.Exists(Commands, c => c.Name == only);
        foreach (var (name, create) in Commands)
        {
            if (!known || name == only)
            {
                root.Subcommands.Add(create());
            }
        }

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
