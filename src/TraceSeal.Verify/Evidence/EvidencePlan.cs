using TraceSeal.Verify.Config;
using TraceSeal.Verify.Data;
using TraceSeal.Verify.Endpoint;
using TraceSeal.Verify.Findings;
using YamlDotNet.RepresentationModel;
using static TraceSeal.Verify.Config.YamlNav;

namespace TraceSeal.Verify.Evidence;

/// <summary>What `verify report` checks: endpoints, configs, one environment, data stores. Built from the flags,
/// and from a `traceseal up` directory when one is given or found (its config, its receivers, its PKI, its store).</summary>
internal sealed class EvidencePlan
{
    public List<EndpointOptions> Endpoints { get; } = [];

    public List<string> Configs { get; } = [];

    /// <summary>The variables to check and where they came from ("the current environment", a file, the settings `traceseal up` prints).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; set; }

    public string EnvironmentSource { get; set; } = "environment";

    public List<string> DataStores { get; } = [];

    /// <summary>Inputs that were asked for but could not be used, reported as lines of the evidence (never dropped silently).</summary>
    public List<string> Notes { get; } = [];

    /// <summary>
    /// Adds everything a `traceseal up --dir <paramref name="dir"/>` directory defines: collector.yaml, one endpoint
    /// per receiver protocol (the transport named by the config, checked by the probe), certs/ca.crt and the client
    /// pair for the probes, data/, and — when <paramref name="environment"/> has no OTEL_EXPORTER_OTLP_* variable —
    /// the settings `up` prints for an app.
    /// </summary>
    public void AddUpDirectory(string dir, IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        string config = Path.Combine(dir, DataScanner.UpConfig);
        if (DataScanner.UpStoreOf(dir) is not { } store)
        {
            throw new ArgumentException($"{dir} is not a `traceseal up` directory: it needs {DataScanner.UpConfig}, data/ and certs/");
        }

        Configs.Add(config);
        DataStores.Add(store);
        string certs = Path.Combine(dir, "certs");
        string ca = Path.Combine(certs, "ca.crt");
        string clientCert = Path.Combine(certs, "client.crt");
        string clientKey = Path.Combine(certs, "client.key");
        bool pki = File.Exists(ca) && File.Exists(clientCert) && File.Exists(clientKey);
        int? httpPort = null;
        foreach (var (protocol, endpoint) in ReceiverEndpoints(config))
        {
            string address = Dial(endpoint);
            var target = EndpointTarget.Parse(address, protocol: protocol == "grpc" ? "grpc" : "http");
            if (protocol == "http")
            {
                httpPort = target.Port;
            }

            Endpoints.Add(new EndpointOptions(target)
            {
                CaFile = File.Exists(ca) ? ca : null,
                CertFile = pki ? clientCert : null,
                KeyFile = pki ? clientKey : null,
                Timeout = timeout,
            });
        }

        if (environment.Count > 0 || httpPort is null || !pki)
        {
            Environment = environment;
            EnvironmentSource = environment.Count > 0 ? "the current environment" : "the current environment (no OTEL_EXPORTER_OTLP_* variable is set)";
            return;
        }

        // Exactly the lines `traceseal up` prints for an app (UpCommand).
        Environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"https://localhost:{httpPort}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_EXPORTER_OTLP_CERTIFICATE"] = ca,
            ["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"] = clientCert,
            ["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = clientKey,
            ["OTEL_EXPORTER_OTLP_INSECURE"] = "false",
        };
        EnvironmentSource = $"the app settings `traceseal up --dir {dir}` prints (no OTEL_EXPORTER_OTLP_* variable is set here)";
    }

    /// <summary>receivers.*.protocols.{grpc,http}.endpoint of a config, in file order.</summary>
    internal static IEnumerable<(string Protocol, string Endpoint)> ReceiverEndpoints(string configPath)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(File.ReadAllText(configPath)));
        }
        catch (YamlDotNet.Core.YamlException)
        {
            yield break; // verify config reports it
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            yield break;
        }

        foreach (var (_, receiver) in Entries(Mapping(Get(root, "receivers"))))
        {
            foreach (var (protocol, body) in Entries(Mapping(Get(Mapping(receiver), "protocols"))))
            {
                if (protocol.Value is "grpc" or "http" && Text(Get(Mapping(body), "endpoint")) is { } endpoint)
                {
                    yield return (protocol.Value!, endpoint);
                }
            }
        }
    }

    /// <summary>A listening address as a client dials it: every interface (0.0.0.0, ::, empty host) is reached on loopback.</summary>
    internal static string Dial(string endpoint)
    {
        string e = endpoint.Trim();
        int colon = e.LastIndexOf(':');
        string host = colon >= 0 ? e[..colon] : e;
        string port = colon >= 0 ? e[(colon + 1)..] : string.Empty;
        return host is "" or "0.0.0.0" or "[::]" or "::" ? $"127.0.0.1:{port}" : e;
    }
}
