using System.CommandLine;
using TraceSeal.Pki;

namespace TraceSeal.Cli.Commands;

/// <summary>`traceseal certs init|client|inspect`: a dev PKI without openssl, with the seeds' file names.</summary>
internal static class CertsCommand
{
    public static Command Create()
    {
        var certs = new Command("certs", "Create and inspect TLS certificates (CA, collector server, app clients).");
        certs.Subcommands.Add(Init());
        certs.Subcommands.Add(Client());
        certs.Subcommands.Add(Inspect());
        return certs;
    }

    private static Option<string> AlgorithmOption() => new("--algorithm")
    {
        Description = "Key algorithm: ecdsa-p256 (default), ecdsa-p384, rsa2048, rsa3072, rsa4096.",
        DefaultValueFactory = _ => "ecdsa-p256",
    };

    private static Command Init()
    {
        var outDir = new Option<string>("--out") { Description = "Directory to write into (created 0700).", Required = true };
        var hosts = new Option<string>("--hosts")
        {
            Description = "Comma-separated DNS names and IP addresses for the server certificate's SAN. The host " +
                          "name clients put in OTEL_EXPORTER_OTLP_ENDPOINT must be one of them.",
            DefaultValueFactory = _ => "localhost,127.0.0.1,::1",
        };
        var clientName = new Option<string>("--client-name") { Description = "CN of the client certificate.", DefaultValueFactory = _ => "traceseal-client" };
        var algorithm = AlgorithmOption();
        var force = new Option<bool>("--force") { Description = "Overwrite existing files." };
        var cmd = new Command("init", "Write ca.crt, ca.key, server.crt, server.key, client.crt, client.key (keys 0600).")
        {
            outDir, hosts, clientName, algorithm, force,
        };
        cmd.SetAction(parse => CommandErrors.Run(() =>
        {
            var written = DevPki.Init(
                parse.GetValue(outDir)!,
                SplitList(parse.GetValue(hosts)),
                DevPki.ParseAlgorithm(parse.GetValue(algorithm)!),
                parse.GetValue(clientName)!,
                parse.GetValue(force));
            foreach (var path in written)
            {
                Console.WriteLine($"wrote {path}");
            }

            Console.WriteLine("Keep ca.key offline in production; the collector needs server.crt, server.key and ca.crt (as client_ca_file).");
            return Program.ExitOk;
        }));
        return cmd;
    }

    private static Command Client()
    {
        var name = new Argument<string>("NAME") { Description = "Client name: its CN and the file names NAME.crt / NAME.key." };
        var caDir = new Option<string>("--ca-dir") { Description = "Directory holding ca.crt and ca.key.", DefaultValueFactory = _ => "." };
        var outDir = new Option<string?>("--out") { Description = "Directory to write into (default: --ca-dir)." };
        var dns = new Option<string[]>("--dns") { Description = "SAN DNS name (repeatable).", AllowMultipleArgumentsPerToken = true };
        var uri = new Option<string[]>("--uri") { Description = "SAN URI, e.g. a SPIFFE id spiffe://corp/ns/payments/sa/api (repeatable).", AllowMultipleArgumentsPerToken = true };
        var days = new Option<int>("--days") { Description = "Validity in days.", DefaultValueFactory = _ => 365 };
        var algorithm = AlgorithmOption();
        var force = new Option<bool>("--force") { Description = "Overwrite existing files." };
        var cmd = new Command("client", "Issue another client certificate signed by the CA, with SAN DNS names and URIs.")
        {
            name, caDir, outDir, dns, uri, days, algorithm, force,
        };
        cmd.SetAction(parse => CommandErrors.Run(() =>
        {
            var dir = parse.GetValue(caDir)!;
            if (parse.GetValue(days) <= 0)
            {
                throw new ArgumentException("--days must be at least 1");
            }

            var written = DevPki.IssueClientFiles(
                Path.Combine(dir, "ca.crt"),
                Path.Combine(dir, "ca.key"),
                parse.GetValue(outDir) ?? dir,
                parse.GetValue(name)!,
                parse.GetValue(dns) ?? [],
                parse.GetValue(uri) ?? [],
                DevPki.ParseAlgorithm(parse.GetValue(algorithm)!),
                TimeSpan.FromDays(parse.GetValue(days)),
                parse.GetValue(force));
            foreach (var path in written)
            {
                Console.WriteLine($"wrote {path}");
            }

            return Program.ExitOk;
        }));
        return cmd;
    }

    private static Command Inspect()
    {
        var file = new Argument<string>("FILE") { Description = "PEM file with one or more certificates." };
        var ca = new Option<string?>("--ca") { Description = "Verify the chain against this CA bundle only (not the system store)." };
        var cmd = new Command("inspect", "Show subject, SANs, validity, key, fingerprint and chain of a certificate file.") { file, ca };
        cmd.SetAction(parse => CommandErrors.Run(() =>
        {
            Console.Write(CertificateInspector.Describe(parse.GetValue(file)!, parse.GetValue(ca)));
            return Program.ExitOk;
        }));
        return cmd;
    }

    internal static string[] SplitList(string? text) =>
        (text ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
