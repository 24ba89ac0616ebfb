using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Config;

/// <summary>
/// `verify config FILE`: lints OpenTelemetry Collector YAML — TraceSeal's and upstream's, including
/// components TraceSeal does not run — for the seeds' leakage points and known upstream pitfalls.
/// It never fails on an unknown component: it checks what it recognises and says nothing about the rest.
/// </summary>
internal static class ConfigLinter
{
    /// <summary>Lints a file. A missing file throws <see cref="FileNotFoundException"/> (a usage error, exit 2).</summary>
    public static Report LintFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"config file not found: {path}", path);
        }

        return Lint(File.ReadAllText(path), path);
    }

    /// <summary>Lints YAML text; <paramref name="file"/> is only used to name locations.</summary>
    public static Report Lint(string yaml, string file)
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

        var context = new LintContext(file);
        ReceiverChecks.Run(context, root);
        ExporterChecks.Run(context, root);
        CollectorChecks.Run(context, root);
        ExtensionChecks.Run(context, root);

        // Source order reads best next to the file; the text writer still groups by layer.
        foreach (var finding in context.Findings.OrderBy(f => f.Location!.Line).ThenBy(f => f.Location!.Column))
        {
            report.Add(finding);
        }

        report.PassUnreported(Catalogue.ConfigRules);
        return report;
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
