using System.CommandLine;
using TraceSeal.Sealing;

namespace TraceSeal.Cli.Commands;

/// <summary>
/// `traceseal keys init|inspect`: recipient keys (public, for collectors) and identity keys (private, for readers).
/// </summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var keys = new Command("keys", "Create and inspect the keys that seal (recipient) and open (identity) stored data.");
        keys.Subcommands.Add(Init());
        keys.Subcommands.Add(Inspect());
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
