using System.Text;
using System.Text.Json;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Output;

/// <summary>Every result, passes included, for scripts: `jq '.results[] | select(.outcome=="fail")'`.
/// Written with Utf8JsonWriter so field names and order are fixed here, not by reflection.</summary>
internal static class JsonReport
{
    public static string Render(Report report)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("command", report.Command);
            json.WriteString("target", report.Target);
            json.WriteString("outcome", ReportWriter.OutcomeName(report.Worst));
            json.WriteStartObject("summary");
            foreach (Outcome outcome in Enum.GetValues<Outcome>())
            {
                json.WriteNumber(ReportWriter.OutcomeName(outcome), report.Count(outcome));
            }

            json.WriteEndObject();
            json.WriteStartArray("results");
            foreach (var result in report.Results)
            {
                WriteResult(json, result);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>One result: the rule, its verdict, the observation (message), the fix when it is a finding, where.
    /// Shared with the evidence report (report.json), so both files read the same.</summary>
    internal static void WriteResult(Utf8JsonWriter json, CheckResult result)
    {
        json.WriteStartObject();
        json.WriteString("id", result.Rule.Id);
        json.WriteString("layer", ReportWriter.LayerTitle(result.Rule.Layer));
        json.WriteString("outcome", ReportWriter.OutcomeName(result.Outcome));
        json.WriteString("title", result.Rule.Title);
        json.WriteString("message", result.Message);
        if (result.Outcome is Outcome.Warn or Outcome.Fail)
        {
            json.WriteString("fix", result.Rule.Fix);
        }

        if (result.Location is { } at)
        {
            json.WriteStartObject("location");
            json.WriteString("file", at.File);
            json.WriteNumber("line", at.Line);
            json.WriteNumber("column", at.Column);
            json.WriteEndObject();
        }

        json.WriteEndObject();
    }
}
