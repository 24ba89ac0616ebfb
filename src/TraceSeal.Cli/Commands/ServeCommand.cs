using System.CommandLine;
using TraceSeal.Collector.Hosting;
using TraceSeal.Serve;

namespace TraceSeal.Cli.Commands;

/// <summary>
/// `traceseal serve --store DIR|s3://BUCKET/PREFIX --identity FILE [--listen 127.0.0.1:3200]`: the reader as an HTTP
/// service (web UI, Tempo-compatible API at the root, Jaeger-compatible API under /jaeger). The identity key stays in
/// this process. Prints the login URL (it holds the token) once, on stdout; logs go to stderr and never hold it.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var store = new StoreArguments();
        var listen = new Option<string>("--listen")
        {
            Description = $"host:port to listen on (default {ServeOptions.DefaultListen}); a non-loopback address needs --tls-cert and --tls-key.",
            DefaultValueFactory = _ => ServeOptions.DefaultListen,
        };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "PEM server certificate: serve over HTTPS." };
        var tlsKey = new Option<string?>("--tls-key") { Description = "PEM private key of --tls-cert." };
        var clientCa = new Option<string?>("--client-ca") { Description = "PEM CA bundle: a client certificate it signed authenticates a request, as the token does (needs TLS)." };
        var (logFormat, logLevel) = CollectorCommand.LogOptions();
        var cmd = new Command("serve", "Serve the sealed store over HTTP: web UI, Tempo-compatible API (Grafana), Jaeger-compatible API under /jaeger. " +
                                       "Every request needs the printed token (cookie or Authorization: Bearer) or a client certificate from --client-ca.")
        {
            listen, tlsCert, tlsKey, clientCa, logFormat, logLevel,
        };
        store.AddTo(cmd);
        cmd.SetAction((parse, ct) => CommandErrors.RunAsync(async () =>
        {
            var options = new ServeOptions
            {
                Listen = ServeOptions.ParseListen(parse.GetValue(listen)!),
                TlsCertFile = parse.GetValue(tlsCert),
                TlsKeyFile = parse.GetValue(tlsKey),
                ClientCaFile = parse.GetValue(clientCa),
                Tenant = parse.GetValue(store.Tenant),
            };
            var errors = options.Validate();
            if (errors.Count > 0)
            {
                foreach (var error in errors)
                {
                    await Console.Error.WriteLineAsync($"error: {error}").ConfigureAwait(false);
                }

                return Program.ExitUsage;
            }

            var reader = store.Open(parse);
            using var loggerFactory = CollectorLogging.Create(parse.GetValue(logFormat)!, CollectorLogging.ParseLevel(parse.GetValue(logLevel)!));
            await using var host = new ServeHost(options, reader, parse.GetValue(store.Store)!, loggerFactory);
            await host.StartAsync(ct).ConfigureAwait(false);
            Console.WriteLine($"traceseal serve: open {host.LoginUrl}");
            Console.WriteLine("  the link sets a cookie for the web UI; API clients send Authorization: Bearer TOKEN (the token= value of the link)");
            Console.WriteLine($"  Grafana: Tempo data source URL {host.BaseUrl}, Jaeger data source URL {host.BaseUrl}/jaeger, header Authorization: Bearer TOKEN");
            if (!reader.SeesLiveWal)
            {
                Console.WriteLine("  note: object storage holds sealed blocks only; spans still in the collectors' local WALs are not shown");
            }

            try
            {
                await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C or SIGTERM
            }

            return Program.ExitOk;
        }));
        return cmd;
    }
}
