using System.CommandLine;
using TraceSeal.Cli.Rewrap;
using TraceSeal.Sealing;

namespace TraceSeal.Cli.Commands;

/// <summary>
/// `traceseal keys init|inspect|rewrap`: recipient keys (public, for collectors), identity keys (private, for
/// readers), and key rotation of a stored sealed store (headers only).
/// </summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var keys = new Command("keys", "Create and inspect the keys that seal (recipient) and open (identity) stored data.");
        keys.Subcommands.Add(Init());
        keys.Subcommands.Add(Inspect());
        keys.Subcommands.Add(Rewrap());
        return keys;
    }

    private static Command Init()
    {
        var name = new Option<string>("--name") { Description = "Key name, e.g. ops or escrow.", Required = true };
        var outDir = new Option<string>("--out") { Description = "Directory to write into.", Required = true };
        var curve = new Option<string>("--curve") { Description = "p256 (default) or p384.", DefaultValueFactory = _ => "p256" };
        var passphraseEnv = new Option<string?>("--passphrase-env")
        {
            Description = "Name of an environment variable holding a passphrase that encrypts the identity file " +
                          "(read from the environment so it stays out of shell history).",
        };
        var force = new Option<bool>("--force") { Description = "Overwrite existing files." };
        var cmd = new Command(
            "init",
            "Write NAME.recipient.pem (public: give it to collectors) and NAME.identity.pem (private, 0600: readers only).")
        {
            name, outDir, curve, passphraseEnv, force,
        };
        cmd.SetAction(parse => CommandErrors.Run(() =>
        {
            var written = KeyFiles.Init(
                parse.GetValue(outDir)!,
                parse.GetValue(name)!,
                parse.GetValue(curve)!,
                ReadPassphrase(parse.GetValue(passphraseEnv)),
                parse.GetValue(force));
            foreach (var path in written)
            {
                Console.WriteLine($"wrote {path}");
            }

            Console.WriteLine("The collector config lists only the .recipient.pem; keep the .identity.pem on the reader's host.");
            return Program.ExitOk;
        }));
        return cmd;
    }

    private static Command Inspect()
    {
        var file = new Argument<string>("FILE") { Description = "A .recipient.pem or .identity.pem file." };
        var cmd = new Command("inspect", "Show the kind (recipient or identity), curve and key id of a key file.") { file };
        cmd.SetAction(parse => CommandErrors.Run(() =>
        {
            Console.WriteLine(KeyFiles.Describe(parse.GetValue(file)!));
            return Program.ExitOk;
        }));
        return cmd;
    }

    private static Command Rewrap()
    {
        var store = new Option<string>("--store") { Description = "The sealed store directory (sealed_store::directory of the collector).", Required = true };
        var identity = new Option<string[]>("--identity")
        {
            Description = "Identity key file that opens the objects now (NAME.identity.pem); repeatable.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var passphraseEnv = new Option<string?>("--passphrase-env") { Description = "Environment variable holding the identity passphrase." };
        var recipient = new Option<string[]>("--recipient")
        {
            Description = "Recipient key file (NAME.recipient.pem) the objects are sealed to afterwards; repeatable. " +
                          "This is the complete new list: recipients not named lose access to new reads.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Open and check every object, report what would change, write nothing." };
        var cmd = new Command(
            "rewrap",
            "Give every object of a stopped sealed store (blocks, indexes, WAL segments) exactly the listed recipients, " +
            "rewriting headers only: payloads are not re-encrypted. Each file is replaced atomically; exit 1 if any object fails.")
        {
            store, identity, passphraseEnv, recipient, dryRun,
        };
        cmd.SetAction(parse => CommandErrors.Run(() =>
        {
            var passphrase = ReadPassphrase(parse.GetValue(passphraseEnv));
            var identities = (parse.GetValue(identity) ?? []).Select(f => KeyFiles.LoadIdentity(f, passphrase)).ToList();
            var recipients = (parse.GetValue(recipient) ?? []).Select(KeyFiles.LoadRecipient).ToList();
            return RunRewrap(parse.GetValue(store)!, identities, recipients, parse.GetValue(dryRun), Console.Out, Console.Error);
        }));
        return cmd;
    }

    /// <summary>The rewrap command body without the parser, for tests.</summary>
    internal static int RunRewrap(string store, IReadOnlyList<IIdentity> identities, IReadOnlyList<IRecipient> recipients, bool dryRun, TextWriter output, TextWriter error)
    {
        var summary = new StoreRewrapper(store, identities, recipients, dryRun, output, error).Run();
        return summary.Failures.Count == 0 ? Program.ExitOk : Program.ExitFailure;
    }

    internal static string? ReadPassphrase(string? variable)
    {
        if (string.IsNullOrEmpty(variable))
        {
            return null;
        }

        var value = Environment.GetEnvironmentVariable(variable);
        return string.IsNullOrEmpty(value)
            ? throw new ArgumentException($"--passphrase-env {variable}: the environment variable is not set or empty")
            : value;
    }
}
