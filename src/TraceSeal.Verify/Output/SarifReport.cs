using System.Text;
using System.Text.Json;
using TraceSeal.Verify.Data;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Output;

/// <summary>
/// SARIF 2.1.0 (OASIS sarif-v2.1.0, §3.27 result, §3.28.3 physicalLocation, §3.30 region) for CI code
/// scanning. Only findings are results (warn → "warning", fail → "error", not checked → "note"); passes
/// are left out because code-scanning UIs treat every result as an alert. Every catalogue rule of the
/// command is listed in tool.driver.rules so a result's ruleIndex is stable across runs.
/// </summary>
internal static class SarifReport
{
    public const string SchemaUri = "https://json.schemastore.org/sarif-2.1.0.json";

    public static string Render(Report report)
    {
        var rules = RulesFor(report);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("$schema", SchemaUri);
            json.WriteString("version", "2.1.0");
            json.WriteStartArray("runs");
            json.WriteStartObject();
            WriteTool(json, rules);
            json.WriteStartArray("results");
            foreach (var result in report.Results)
            {
                if (result.Outcome == Outcome.Pass)
                {
                    continue;
                }

                WriteResult(json, result, rules.IndexOf(result.Rule));
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    public static string Level(Outcome outcome) => outcome switch
    {
        Outcome.Fail => "error",
        Outcome.Warn => "warning",
        Outcome.NotChecked => "note",
        _ => "none",
    };

    private static List<Rule> RulesFor(Report report)
    {
        IEnumerable<Rule> rules = report.Command switch
        {
            "config" => Catalogue.ConfigRules,
            "endpoint" => Catalogue.EndpointRules,
            "env" => Catalogue.EnvRules,
            "data" when report.Target.StartsWith(S3DataTarget.Scheme, StringComparison.OrdinalIgnoreCase) => Catalogue.S3DataRules,
            "data" => Catalogue.DataRules,
            _ => [],
        };
        var list = rules.ToList();
        foreach (var result in report.Results)
        {
            if (!list.Contains(result.Rule))
            {
                list.Add(result.Rule);
            }
        }

        return list;
    }

    private static void WriteTool(Utf8JsonWriter json, List<Rule> rules)
    {
        json.WriteStartObject("tool");
        json.WriteStartObject("driver");
        json.WriteString("name", "traceseal");
        json.WriteString("informationUri", "https://github.com/traceseal/traceseal");
        json.WriteStartArray("rules");
        foreach (var rule in rules)
        {
            json.WriteStartObject();
            json.WriteString("id", rule.Id);
            json.WriteStartObject("shortDescription");
            json.WriteString("text", rule.Title);
            json.WriteEndObject();
            json.WriteStartObject("help");
            json.WriteString("text", rule.Fix);
            json.WriteEndObject();
            json.WriteStartObject("defaultConfiguration");
            json.WriteString("level", Level(rule.Severity));
            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteResult(Utf8JsonWriter json, CheckResult result, int ruleIndex)
    {
        json.WriteStartObject();
        json.WriteString("ruleId", result.Rule.Id);
        json.WriteNumber("ruleIndex", ruleIndex);
        json.WriteString("level", Level(result.Outcome));
        json.WriteStartObject("message");
        json.WriteString("text", result.Outcome == Outcome.NotChecked ? result.Message : $"{result.Message}. Fix: {result.Rule.Fix}");
        json.WriteEndObject();
        if (result.Location is { } at)
        {
            json.WriteStartArray("locations");
            json.WriteStartObject();
            json.WriteStartObject("physicalLocation");
            json.WriteStartObject("artifactLocation");
            json.WriteString("uri", ArtifactUri(at.File));
            json.WriteEndObject();
            json.WriteStartObject("region");
            json.WriteNumber("startLine", at.Line);
            json.WriteNumber("startColumn", at.Column);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    /// <summary>SARIF wants URI references (§3.4.3): forward slashes, relative paths kept relative so
    /// code scanning can map them onto the repository.</summary>
    private static string ArtifactUri(string path) => path.Replace('\\', '/');
}
