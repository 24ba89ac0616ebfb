using YamlDotNet.RepresentationModel;
using TraceSeal.Verify.Findings;
using static TraceSeal.Verify.Config.YamlNav;

namespace TraceSeal.Verify.Config;

/// <summary>The file_storage extension backs persistent queues and receivers' checkpoints; upstream it
/// stores what it is given unencrypted (bbolt files), so its directory is a plaintext spill.</summary>
internal static class ExtensionChecks
{
    /// <summary>Where file_storage writes when no directory is given (upstream default on Linux).</summary>
    private const string DefaultDirectory = "/var/lib/otelcol/file_storage";

    public static void Run(LintContext context, YamlMappingNode root)
    {
        foreach (var (idNode, body) in Entries(Mapping(Get(root, "extensions"))))
        {
            if (TypeOf(idNode.Value!) != "file_storage")
            {
                continue;
            }

            var (_, directory) = Entry(Mapping(body), "directory");
            string path = Text(directory) ?? DefaultDirectory;
            context.Add(Catalogue.FileStorage, directory ?? idNode, $"extensions.{idNode.Value} stores data unencrypted in {path}");
        }
    }
}
