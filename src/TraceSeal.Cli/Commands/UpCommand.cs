using System.CommandLine;
using System.Globalization;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Hosting;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Telemetry;
using TraceSeal.Pki;
using TraceSeal.Sealing;

namespace TraceSeal.Cli.Commands;

/// <summary>
/// `traceseal up`: the main job on embedded defaults. Creates a dev PKI and a config with mutual TLS on
/// loopback if they are absent (safe to run again: existing files are kept), starts the collector and prints
/// what an app needs. Port flags given for an existing config are written into it (only the port's characters
/// change), or refused naming the file and the key: never silently ignored. Ctrl-C drains in-flight requests.
/// </summary>
internal static class UpCommand
{
    public const int DefaultGrpcPort = 4317;
    public const int DefaultHttpPort = 4318;
    public const int DefaultMetricsPort = 8888;

    /// <summary>Written into up's config: a week of dev data, then the oldest blocks go (sealed_store retention::max_age).</summary>
    public const string DefaultRetention = "7d";

    public static Command Create()
    {
        var dir = new Option<string>("--dir") { Description = "State directory (certificates, keys, config).", DefaultValueFactory = _ => ".traceseal" };
        var grpcPort = new Option<int>("--grpc-port") { Description = $"OTLP/gRPC port on 127.0.0.1 (default {DefaultGrpcPort}); written into an existing config.", DefaultValueFactory = _ => DefaultGrpcPort };
        var httpPort = new Option<int>("--http-port") { Description = $"OTLP/HTTP port on 127.0.0.1 (default {DefaultHttpPort}); written into an existing config.", DefaultValueFactory = _ => DefaultHttpPort };
        var metricsPort = new Option<int>("--metrics-port") { Description = $"Self-telemetry port on 127.0.0.1: /metrics, /healthz, /readyz (default {DefaultMetricsPort}); written into an existing config.", DefaultValueFactory = _ => DefaultMetricsPort };
        var (logFormat, logLevel) = CollectorCommand.LogOptions();
        var cmd = new Command("up", "Create a dev PKI and config if absent, start the collector with mTLS on 127.0.0.1:4317/4318, print the app's settings.")
        {
            dir, grpcPort, httpPort, metricsPort, logFormat, logLevel,
        };
        cmd.SetAction((parse, ct) => CommandErrors.RunAsync(async () =>
        {
            var state = Path.GetFullPath(parse.GetValue(dir)!);
            var ports = new UpPorts(
                Given(parse, grpcPort), Given(parse, httpPort), Given(parse, metricsPort),
                parse.GetValue(grpcPort), parse.GetValue(httpPort), parse.GetValue(metricsPort));
            var configPath = Prepare(state, ports);
            var config = CollectorConfigLoader.Load(configPath);
            try
            {
                return await CollectorCommand.RunAsync(config, parse.GetValue(logFormat)!, parse.GetValue(logLevel)!, host => PrintInstructions(state, config, host), ct).ConfigureAwait(false);
            }
            catch (TelemetryStartException e) when (e.Message.Contains("cannot listen", StringComparison.Ordinal))
            {
                throw new TelemetryStartException($"{e.Message} (in {configPath}; or run up with --metrics-port PORT, which writes it there)", e);
            }
            catch (ReceiverStartException e) when (e.Message.Contains("cannot listen", StringComparison.Ordinal))
            {
                throw new ReceiverStartException($"{e.Message} (in {configPath}; or run up with --grpc-port / --http-port, which write them there)", e);
            }
        }));
        return cmd;
    }

    private static bool Given(System.CommandLine.ParseResult parse, Option<int> option) => parse.GetResult(option) is { Implicit: false };

    /// <summary>Creates whatever is missing under <paramref name="state"/>, writes given port flags into an existing config, and returns its path.</summary>
    internal static string Prepare(string state, UpPorts ports)
    {
        ports.Validate();
        CreatePrivateDirectory(state);
        var certs = Path.Combine(state, "certs");
        if (!File.Exists(Path.Combine(certs, "ca.crt")))
        {
            DevPki.Init(certs, ["localhost", "127.0.0.1", "::1"]);
            Console.WriteLine($"created a dev PKI in {certs} (ca, server for localhost/127.0.0.1/::1, client)");
        }

        var keys = Path.Combine(state, "keys");
        if (!File.Exists(Path.Combine(keys, "reader.recipient.pem")))
        {
            // Dev convenience: the reader's identity sits next to the collector's state. In production it
            // lives on another host (docs/security.md); the collector's config names only the recipient.
            KeyFiles.Init(keys, "reader");
            Console.WriteLine($"created reader keys in {keys} (reader.recipient.pem for the collector, reader.identity.pem for queries)");
        }

        var configPath = Path.Combine(state, "collector.yaml");
        if (!File.Exists(configPath))
        {
            File.WriteAllText(configPath, DefaultConfig(ports.Grpc, ports.Http, ports.Metrics));
            Console.WriteLine($"wrote {configPath}");
        }
        else
        {
            Console.WriteLine($"using existing {configPath}");
            ApplyPorts(configPath, ports);
            if (HasFixedMemoryLimit(File.ReadAllText(configPath)))
            {
                // Written by an older `up`: the file is the user's now, so it is pointed at, not rewritten.
                Console.WriteLine("  note: its memory_limiter has the fixed limit_mib: 512 that older versions wrote, too small for a full load;");
                Console.WriteLine("  replace limit_mib/spike_limit_mib with limit_percentage: 80 and spike_limit_percentage: 20, or delete the file to regenerate it");
            }
        }

        return configPath;
    }

    /// <summary>Each port flag given on the command line is written into the existing file, or refused naming it.</summary>
    private static void ApplyPorts(string configPath, UpPorts ports)
    {
        string text = File.ReadAllText(configPath);
        bool changed = false;
        foreach (var (given, option, port, path) in (ReadOnlySpan<(bool, string, int, string[])>)[
            (ports.GrpcGiven, "--grpc-port", ports.Grpc, UpConfigFile.GrpcEndpoint),
            (ports.HttpGiven, "--http-port", ports.Http, UpConfigFile.HttpEndpoint),
            (ports.MetricsGiven, "--metrics-port", ports.Metrics, UpConfigFile.MetricsAddress)])
        {
            if (!given)
            {
                continue;
            }

            (text, bool one) = UpConfigFile.SetPort(text, configPath, option, port, path);
            if (one)
            {
                Console.WriteLine($"  {option} {port}: set {string.Join("::", path)} in {configPath}");
                changed = true;
            }
        }

        if (changed)
        {
            // Replace, never truncate in place: a crash mid-write must not leave half a config.
            string temp = configPath + ".tmp";
            File.WriteAllText(temp, text);
            File.SetUnixFileMode(temp, File.GetUnixFileMode(configPath));
            File.Move(temp, configPath, overwrite: true);
        }
    }

    /// <summary>The memory_limiter block older versions of `up` generated (before limits were sized from available memory).</summary>
    internal static bool HasFixedMemoryLimit(string yaml) =>
        yaml.StartsWith("# Generated by `traceseal up`", StringComparison.Ordinal)
        && yaml.Contains("    limit_mib: 512\n    spike_limit_mib: 128\n", StringComparison.Ordinal);

    private static void CreatePrivateDirectory(string path)
    {
        if (!Directory.Exists(path))
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    internal static string DefaultConfig(int grpcPort, int httpPort, int metricsPort = DefaultMetricsPort)
    {
        // What the limits below are percentages of: the GC's view, which follows cgroup limits and DOTNET_GCHeapHardLimit.
        long availableMib = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024);
        return $$"""
        # Generated by `traceseal up`; edit freely (an existing file is kept). Paths are relative to this file.
        # Every receiver requires a client certificate signed by certs/ca.crt (mutual TLS).
        receivers:
          otlp:
            protocols:
              grpc:
                endpoint: 127.0.0.1:{{grpcPort}}
                tls:
                  cert_file: certs/server.crt
                  key_file: certs/server.key
                  client_ca_file: certs/ca.crt
                  min_version: "1.2"
                  reload_interval: 1m
              http:
                endpoint: 127.0.0.1:{{httpPort}}
                tls:
                  cert_file: certs/server.crt
                  key_file: certs/server.key
                  client_ca_file: certs/ca.crt
                  min_version: "1.2"
                  reload_interval: 1m

        processors:
          # Sized from the memory this process may use (a container's limit, else the machine's; {{availableMib}} MiB when
          # this file was written), not a fixed figure: data is refused while the managed heap in use is above
          # 80% - 20% = 60% of it, and a collection is forced at once above 80%. The receivers' in-flight request
          # bytes are bounded separately (service::admission::max_in_flight_bytes, by default 1/8 of that memory).
          memory_limiter:
            check_interval: 1s
            limit_percentage: 80
            spike_limit_percentage: 20
          batch:
            send_batch_size: 8192
            send_batch_max_size: 16384
            timeout: 200ms

        exporters:
          # Sealed WAL + blocks + index: encrypted to the recipient key only; this collector cannot read them back.
          sealed_store:
            directory: data
            recipients: [keys/reader.recipient.pem]
            durability: fsync
            retention:
              max_age: {{DefaultRetention}}       # dev data: the oldest blocks are deleted after a week

        service:
          telemetry:
            metrics:
              address: 127.0.0.1:{{metricsPort}}   # /metrics, /healthz, /readyz (no TLS: loopback only)
          pipelines:
            traces:
              receivers: [otlp]
              processors: [memory_limiter, batch]
              exporters: [sealed_store]
            metrics:
              receivers: [otlp]
              processors: [memory_limiter, batch]
              exporters: [sealed_store]
            logs:
              receivers: [otlp]
              processors: [memory_limiter, batch]
              exporters: [sealed_store]

        """;
    }

    /// <summary>How to call this same binary again (under `dotnet run` this is the built apphost).</summary>
    private static string SelfCommand() =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "traceseal" ? path : "traceseal";

    /// <summary>What an app and an operator need, from the running collector (bound ports, not the file's).</summary>
    internal static void PrintInstructions(string state, CollectorConfig config, CollectorHost host)
    {
        var certs = Path.Combine(state, "certs");
        var receiver = host.Receivers.Count > 0 ? host.Receivers[0] : null;
        Console.WriteLine();
        Console.WriteLine("TraceSeal is running with mutual TLS. For an app (any OpenTelemetry SDK), the same for both protocols:");
        Console.WriteLine($"  export OTEL_EXPORTER_OTLP_CERTIFICATE={Path.Combine(certs, "ca.crt")}");
        Console.WriteLine($"  export OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE={Path.Combine(certs, "client.crt")}");
        Console.WriteLine($"  export OTEL_EXPORTER_OTLP_CLIENT_KEY={Path.Combine(certs, "client.key")}");
        Console.WriteLine("  export OTEL_EXPORTER_OTLP_INSECURE=false");
        if (receiver?.HttpEndpoint is { } http)
        {
            Console.WriteLine("then either OTLP/HTTP:");
            Console.WriteLine($"  export OTEL_EXPORTER_OTLP_ENDPOINT=https://localhost:{http.Port}");
            Console.WriteLine("  export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf");
        }

        if (receiver?.GrpcEndpoint is { } grpc)
        {
            Console.WriteLine(receiver.HttpEndpoint is null ? "then OTLP/gRPC:" : "or OTLP/gRPC (the port and the protocol go together: gRPC to the HTTP port fails with 12 UNIMPLEMENTED):");
            Console.WriteLine($"  export OTEL_EXPORTER_OTLP_ENDPOINT=https://localhost:{grpc.Port}");
            Console.WriteLine("  export OTEL_EXPORTER_OTLP_PROTOCOL=grpc");
        }

        var store = Path.Combine(state, "data");
        var identity = Path.Combine(state, "keys", "reader.identity.pem");
        Console.WriteLine();
        Console.WriteLine($"Data is sealed to keys/reader.recipient.pem under data/ (acknowledged only once fsync'd; kept {DefaultRetention} in a new config). Read it back:");
        Console.WriteLine($"  {SelfCommand()} query --store {store} --identity {identity} --since 1h");
        if (Program.BuildRoot().Subcommands.Any(c => c.Name == "serve"))
        {
            Console.WriteLine("or in the browser (trace view; Tempo and Jaeger APIs for Grafana), then open the address it prints:");
            Console.WriteLine($"  {SelfCommand()} serve --store {store} --identity {identity}");
        }

        Console.WriteLine();
        if (host.Telemetry?.BoundEndpoint is { } metrics)
        {
            Console.WriteLine($"Self-telemetry: http://{metrics}/metrics, /healthz, /readyz");
        }

        foreach (var health in host.HealthChecks)
        {
            Console.WriteLine($"Health check ({health.Id}): http://{health.BoundEndpoint}/");
        }

        Console.WriteLine($"Verify: {SelfCommand()} verify config {config.SourcePath}; {SelfCommand()} verify data {store}");
        Console.WriteLine($"Evidence report (every check, HTML + JSON, while this runs): {SelfCommand()} verify report --up-dir {state}");
        Console.WriteLine("Ctrl-C stops the collector after draining in-flight requests.");
    }
}

/// <summary>`up`'s port flags; <c>*Given</c> is true when the flag was on the command line (it then applies to an existing config too).</summary>
internal sealed record UpPorts(bool GrpcGiven, bool HttpGiven, bool MetricsGiven, int Grpc, int Http, int Metrics)
{
    public static UpPorts Defaults { get; } = new(false, false, false, UpCommand.DefaultGrpcPort, UpCommand.DefaultHttpPort, UpCommand.DefaultMetricsPort);

    /// <summary>Throws <see cref="UsageException"/> for a port out of range or two flags with the same port.</summary>
    public void Validate()
    {
        foreach (var (option, port) in (ReadOnlySpan<(string, int)>)[("--grpc-port", Grpc), ("--http-port", Http), ("--metrics-port", Metrics)])
        {
            if (port is < 1 or > 65535)
            {
                throw new UsageException($"{option} {port.ToString(CultureInfo.InvariantCulture)}: not a port; use 1-65535");
            }
        }

        if (Grpc == Http || Grpc == Metrics || Http == Metrics)
        {
            throw new UsageException($"--grpc-port {Grpc}, --http-port {Http}, --metrics-port {Metrics}: each needs a port of its own");
        }
    }
}
