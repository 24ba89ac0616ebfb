using YamlDotNet.RepresentationModel;
using TraceSeal.Verify.Findings;
using static TraceSeal.Verify.Config.YamlNav;

namespace TraceSeal.Verify.Config;

/// <summary>
/// Extensions: the file_storage extension backs persistent queues and receivers' checkpoints; upstream it stores
/// what it is given unencrypted (bbolt files), so its directory is a plaintext spill. pprof (heap dumps), zpages
/// (sampled spans) and health_check answer anyone who reaches their port, in plaintext.
/// </summary>
internal static class ExtensionChecks
{
    /// <summary>Where file_storage writes when no directory is given (upstream default on Linux).</summary>
    private const string DefaultDirectory = "/var/lib/otelcol/file_storage";

    /// <summary>Upstream defaults (localhost since collector v0.104; older releases bound health_check to 0.0.0.0).</summary>
    private static readonly Dictionary<string, string> DebugEndpoints = new(StringComparer.Ordinal)
    {
        ["pprof"] = "localhost:1777",
        ["zpages"] = "localhost:55679",
        ["health_check"] = "localhost:13133",
        ["healthcheckv2"] = "localhost:13133",
    };

    public static void Run(LintContext context, YamlMappingNode root)
    {
        foreach (var (idNode, body) in Entries(Mapping(Get(root, "extensions"))))
        {
            context.Extensions++;
            string type = TypeOf(idNode.Value!);
            if (type == "file_storage")
            {
                var (_, directory) = Entry(Mapping(body), "directory");
                string path = Text(directory) ?? DefaultDirectory;
                context.Add(Catalogue.FileStorage, directory ?? idNode, $"extensions.{idNode.Value} stores data unencrypted in {path}");
            }
            else if (DebugEndpoints.TryGetValue(type, out var fallback))
            {
                var (_, endpoint) = Entry(Mapping(body), "endpoint");
                string address = Text(endpoint) ?? fallback;
                if (!ReceiverChecks.IsLoopback(address))
                {
                    // health_check reveals only up/down; pprof and zpages reveal memory and spans.
                    var outcome = type is "pprof" or "zpages" ? Outcome.Fail : Outcome.Warn;
                    string what = type switch
                    {
                        "pprof" => "heap and goroutine dumps (span data in memory included)",
                        "zpages" => "sampled spans with their attributes",
                        _ => "the collector's status",
                    };
                    context.Add(Catalogue.DebugEndpointExposed, outcome, endpoint ?? idNode,
                        $"extensions.{idNode.Value}.endpoint {address} is not loopback: it serves {what} in plaintext to anyone who reaches it");
                }
            }
        }
    }
}
