using YamlDotNet.RepresentationModel;
using TraceSeal.Verify.Findings;
using static TraceSeal.Verify.Config.YamlNav;

namespace TraceSeal.Verify.Config;

/// <summary>Exporters are the egress and the places spans are written: TLS to the next hop, nothing in
/// plaintext on disk or in logs, object storage encrypted.</summary>
internal static class ExporterChecks
{
    private static readonly string[] EndpointKeys = ["endpoint", "traces_endpoint", "metrics_endpoint", "logs_endpoint"];

    /// <summary>Upstream exporters that write objects to cloud storage (contrib awss3exporter,
    /// googlecloudstorageexporter, azureblobexporter).</summary>
    private static readonly HashSet<string> ObjectStorageExporters = ["awss3", "googlecloudstorage", "azureblob"];

    public static void Run(LintContext context, YamlMappingNode root)
    {
        foreach (var (idNode, body) in Entries(Mapping(Get(root, "exporters"))))
        {
            string id = idNode.Value!;
            string type = TypeOf(id);
            var settings = Mapping(body);
            string where = $"exporters.{id}";
            context.Exporters++;

            if (type is "debug" or "logging")
            {
                Debug(context, idNode, settings, type, where);
            }
            else if (type == "file")
            {
                context.Add(Catalogue.FileExporter, idNode, $"{where} writes spans to {Text(Get(settings, "path")) ?? "a file"} in plaintext");
            }
            else if (ObjectStorageExporters.Contains(type) && !AnyKey(settings, IsEncryptionKey))
            {
                context.Add(Catalogue.ObjectStorageWithoutSse, idNode, $"{where} uploads objects without server-side encryption settings");
            }
            else if (type == "sealed_store")
            {
                context.SealedStores++;
                var (_, durability) = Entry(settings, "durability");
                if (durability is not null && Text(durability) == "none")
                {
                    context.Add(Catalogue.WeakDurability, durability, $"{where}.durability is none: acknowledged spans are not fsync'd");
                }
            }

            Transport(context, settings, where);

            var (_, storage) = Entry(Mapping(Get(settings, "sending_queue")), "storage");
            if (storage is not null && Text(storage) is { } extension)
            {
                context.Add(Catalogue.PersistentQueue, storage, $"{where}.sending_queue.storage uses {extension}: queued spans are written to disk unencrypted");
            }
        }
    }

    /// <summary>
    /// debug (and the deprecated logging) exporter: verbosity basic logs counts only; normal logs a line per span and
    /// detailed every attribute, in plaintext, into the collector's log. Defaults: debug basic, logging normal
    /// (upstream exporter/debugexporter and loggingexporter READMEs); logging's old `loglevel: debug` is detailed.
    /// </summary>
    private static void Debug(LintContext context, YamlScalarNode idNode, YamlMappingNode? settings, string type, string where)
    {
        var (verbosityKey, verbosity) = Entry(settings, "verbosity");
        var (loglevelKey, loglevel) = Entry(settings, "loglevel");
        string level = Text(verbosity)?.Trim().ToLowerInvariant()
            ?? (Text(loglevel)?.Trim().ToLowerInvariant() == "debug" ? "detailed" : null)
            ?? (type == "logging" ? "normal" : "basic");
        if (level is "normal" or "detailed")
        {
            string set = verbosityKey is not null ? $"verbosity: {level}" : loglevelKey is not null ? "loglevel: debug" : $"verbosity {level} by default";
            context.Add(Catalogue.DebugExporter, idNode, $"{where} ({set}) copies span contents into the collector's log in plaintext");
        }
    }

    private static void Transport(LintContext context, YamlMappingNode? settings, string where)
    {
        foreach (string key in EndpointKeys)
        {
            var (_, endpoint) = Entry(settings, key);
            if (endpoint is not null && Text(endpoint) is { } url && url.Trim().StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            {
                context.Add(Catalogue.ExporterHttpEndpoint, endpoint, $"{where}.{key} is {url}: spans leave in plaintext");
            }
        }

        // Old configs put insecure at the top level; configtls puts it under tls.
        foreach (var (map, prefix) in new[] { (settings, where), (Mapping(Get(settings, "tls")), where + ".tls") })
        {
            foreach (string key in new[] { "insecure", "insecure_skip_verify" })
            {
                var (_, value) = Entry(map, key);
                if (value is not null && IsTrue(value))
                {
                    string effect = key == "insecure" ? "the connection is plaintext" : "the server certificate is not verified";
                    context.Add(Catalogue.ExporterInsecure, value, $"{prefix}.{key} is true: {effect}");
                }
            }
        }

        if (Mapping(Get(settings, "tls")) is { } tls)
        {
            context.TlsBlocks++;
            TlsChecks.Versions(context, tls, where);
        }
    }

    /// <summary>By word, not substring: "addresses" must not count as "sse".</summary>
    private static bool IsEncryptionKey(string key)
    {
        foreach (string word in key.ToLowerInvariant().Split('_', '-', '.'))
        {
            if (word is "sse" or "kms" or "encryption" or "encrypted" || word.StartsWith("sse", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
