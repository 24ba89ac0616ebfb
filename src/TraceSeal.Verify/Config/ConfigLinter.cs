using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Config;

/// <summary>
/// `verify config FILE`: lints OpenTelemetry Collector YAML — TraceSeal's and upstream's, including components
/// TraceSeal does not run — for the seeds' leakage points and known upstream pitfalls. For a TraceSeal config it
/// first runs the collector's own loader (<see cref="CollectorLoader"/>) and reports each of its errors as a finding:
/// a config the collector refuses is never "clean". A rule whose section is missing (no receivers, no pipelines)
/// is reported as not checked with the reason, never as a pass.
/// </summary>
internal static class ConfigLinter
{
    /// <summary>Lints a file. A missing file throws <see cref="FileNotFoundException"/> (a usage error, exit 2).</summary>
    public static Report LintFile(string path, CollectorLoader? loader = null, ConfigFlavor flavor = ConfigFlavor.Auto)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"config file not found: {path}", path);
        }

        return Lint(File.ReadAllText(path), path, loader, flavor);
    }

    /// <summary>Lints YAML text; <paramref name="file"/> names locations and anchors the loader's relative paths.
    /// Without <paramref name="loader"/> only the lint runs and TS-CFG-020 says it was not checked.</summary>
    public static Report Lint(string yaml, string file, CollectorLoader? loader = null, ConfigFlavor flavor = ConfigFlavor.Auto)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var report = new Report("config", file);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            // Only the parse error is reported: passes for the other checks would be lies.
            report.Add(CheckResult.Finding(Catalogue.ConfigUnreadable, $"not valid YAML: {Innermost(e).Message}",
                new SourceLocation(file, checked((int)e.Start.Line), checked((int)e.Start.Column))));
            return report;
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            report.Add(CheckResult.Finding(Catalogue.ConfigUnreadable, "the file holds no YAML mapping (receivers:, exporters:, service:)",
                new SourceLocation(file, 1, 1)));
            return report;
        }

        report.Add(CheckResult.Pass(Catalogue.ConfigUnreadable, "parsed as one YAML mapping"));
        bool forTraceSeal = Load(report, yaml, file, loader, flavor);
        var context = new LintContext(file, forTraceSeal);
        ReceiverChecks.Run(context, root);
        ExporterChecks.Run(context, root);
        CollectorChecks.Run(context, root);
        ExtensionChecks.Run(context, root);

        // Source order reads best next to the file; the text writer still groups by layer.
        foreach (var finding in context.Findings.OrderBy(f => f.Location!.Line).ThenBy(f => f.Location!.Column))
        {
            report.Add(finding);
        }

        Unreported(report, context);
        context.Certificates.ForEach(report.AddCertificate);
        return report;
    }

    /// <summary>Runs the loader when the config is (or may be) TraceSeal's; true when the config is linted as TraceSeal's.</summary>
    private static bool Load(Report report, string yaml, string file, CollectorLoader? loader, ConfigFlavor flavor)
    {
        if (flavor == ConfigFlavor.Upstream)
        {
            report.Add(CheckResult.NotChecked(Catalogue.ConfigLoads, "--collector upstream: linted for the upstream OpenTelemetry Collector, TraceSeal's loader not run"));
            return false;
        }

        if (loader is null)
        {
            report.Add(CheckResult.NotChecked(Catalogue.ConfigLoads, "the collector's loader was not run"));
            return flavor == ConfigFlavor.TraceSeal;
        }

        var errors = loader(yaml, file);
        if (errors.Count == 0)
        {
            report.Add(CheckResult.Pass(Catalogue.ConfigLoads, "the collector's loader accepts it: every component and key known, every referenced file present"));
            return true;
        }

        if (flavor == ConfigFlavor.Auto && errors.FirstOrDefault(IsForeignComponent) is { } foreign)
        {
            report.Add(CheckResult.NotChecked(Catalogue.ConfigLoads,
                $"uses components `traceseal collector` does not run ({foreign.KeyPath}: {foreign.Message}): linted as an upstream OpenTelemetry Collector config; pass --collector traceseal to list every loader error"));
            return false;
        }

        foreach (var error in errors)
        {
            report.Add(CheckResult.Finding(Catalogue.ConfigLoads, $"{error.KeyPath}: {error.Message}",
                new SourceLocation(file, Math.Max(1, error.Line), Math.Max(1, error.Column))));
        }

        return true;
    }

    /// <summary>An error at component level that names the type as unknown or refused, or an upstream-only section.</summary>
    internal static bool IsForeignComponent(LoaderError error)
    {
        string[] path = error.KeyPath.Split("::");
        bool componentLevel = path.Length == 2 && path[0] is "receivers" or "processors" or "exporters" or "extensions" or "connectors";
        return (componentLevel && error.Message.Contains("(supported: ", StringComparison.Ordinal))
               || error.Message.StartsWith("unknown key \"connectors\"", StringComparison.Ordinal);
    }

    /// <summary>
    /// A rule without a finding passes only when the section it inspects was there; otherwise it is not checked,
    /// and the line says which section was missing (the seed's YAML as written has no service: no pipeline to check).
    /// </summary>
    private static void Unreported(Report report, LintContext c)
    {
        string receivers = $"{c.ServerEndpoints} listening receiver endpoint(s)";
        string exporters = $"{c.Exporters} exporter(s)";
        string receiverTls = $"{c.ReceiverTlsBlocks} receiver tls block(s)";
        string noReceiverTls = "no receiver has a tls block (a receiver without one is TS-CFG-001)";
        var table = new (Rule Rule, int Seen, string Pass, string Missing)[]
        {
            (Catalogue.ReceiverWithoutTls, c.ServerEndpoints, $"{receivers}, each with a tls block", "no receiver with a listening endpoint"),
            (Catalogue.TlsWithoutClientCa, c.ReceiverTlsBlocks, $"{receiverTls}, each with client_ca_file", noReceiverTls),
            (Catalogue.CaFileOnServer, c.ReceiverTlsBlocks, $"{receiverTls}: client certificates are verified with client_ca_file", noReceiverTls),
            (Catalogue.SystemPoolWithClientCa, c.ReceiverTlsBlocks, $"{receiverTls}: no system CA pool next to client_ca_file", noReceiverTls),
            (Catalogue.TlsVersionBelow12, c.TlsBlocks, $"{c.TlsBlocks} tls block(s): none allows TLS below 1.2", "no tls block"),
            (Catalogue.ExporterInsecure, c.Exporters, $"{exporters}: none is insecure or skips verification", "no exporters section"),
            (Catalogue.ExporterHttpEndpoint, c.Exporters, $"{exporters}: no http:// endpoint", "no exporters section"),
            (Catalogue.NoReloadInterval, c.ReceiverTlsBlocks, c.ForTraceSeal
                ? "TraceSeal watches cert_file, key_file and client_ca_file and reloads them (reload_interval only sets the poll interval)"
                : $"{receiverTls}, each with reload_interval", "no tls block"),
            (Catalogue.WildcardWithoutTls, c.ServerEndpoints, $"{receivers}: none is plaintext on every interface", "no receiver with a listening endpoint"),
            (Catalogue.AllowPlaintext, c.ServerEndpoints, $"{receivers}: none sets allow_plaintext", "no receiver with a listening endpoint"),
            (Catalogue.NoMemoryLimiter, c.Pipelines, $"{c.Pipelines} pipeline(s), each with a memory_limiter", "no service.pipelines: there is no pipeline to check (neither collector runs without one)"),
            (Catalogue.MemoryLimiterNotFirst, c.Pipelines, $"{c.Pipelines} pipeline(s): memory_limiter first", "no service.pipelines: there is no pipeline to check"),
            (Catalogue.BatchWithoutMax, c.BatchProcessors, $"{c.BatchProcessors} batch processor(s), each with send_batch_max_size", "no batch processor"),
            (Catalogue.DebugExporter, c.Exporters, $"{exporters}: no debug/logging exporter above verbosity basic", "no exporters section"),
            (Catalogue.DebugEndpointExposed, c.Extensions, $"{c.Extensions} extension(s): pprof, zpages and health_check (if any) on loopback", "no extensions section"),
            (Catalogue.FileExporter, c.Exporters, $"{exporters}: none is a file exporter", "no exporters section"),
            (Catalogue.PersistentQueue, c.Exporters, $"{exporters}: no persistent sending queue", "no exporters section"),
            (Catalogue.FileStorage, c.Extensions, $"{c.Extensions} extension(s): no file_storage", "no extensions section"),
            (Catalogue.ObjectStorageWithoutSse, c.Exporters, $"{exporters}: no object storage exporter without server-side encryption", "no exporters section"),
            (Catalogue.WeakDurability, c.SealedStores, $"{c.SealedStores} sealed_store exporter(s) acknowledging after fsync", "no sealed_store exporter"),
        };
        foreach (var (rule, seen, pass, missing) in table)
        {
            if (!report.Has(rule))
            {
                report.Add(seen > 0 ? CheckResult.Pass(rule, pass) : CheckResult.NotChecked(rule, missing));
            }
        }

        report.NotCheckedUnreported(Catalogue.ConfigRules, "no observation was made for this check");
    }

    private static Exception Innermost(YamlException e)
    {
        Exception current = e;
        while (current.InnerException is YamlException inner)
        {
            current = inner;
        }

        return current;
    }
}
