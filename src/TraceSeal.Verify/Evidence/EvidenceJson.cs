using System.Text.Json;
using TraceSeal.Verify.Findings;
using TraceSeal.Verify.Output;

namespace TraceSeal.Verify.Evidence;

/// <summary>
/// The machine-readable half of the evidence (report.json). Field names and order are fixed here (Utf8JsonWriter,
/// not reflection) so a hash of the file means the same thing across versions. The HTML shows this file's SHA-256.
/// </summary>
internal static class EvidenceJson
{
    public const string Schema = "traceseal-verify-report/1";

    public static byte[] Render(EvidenceContext context, IReadOnlyList<EvidenceRun> runs)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("schema", Schema);
            json.WriteString("tool", "traceseal");
            json.WriteString("version", context.ToolVersion);
            json.WriteString("generated_at", context.GeneratedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("host", context.Host);
            json.WriteString("user", context.User);
            json.WriteString("working_directory", context.WorkingDirectory);
            json.WriteString("command_line", context.CommandLine);
            json.WriteString("outcome", ReportWriter.OutcomeName(Worst(runs)));

            json.WriteStartObject("summary");
            foreach (Layer layer in Enum.GetValues<Layer>())
            {
                json.WriteStartObject(ReportWriter.LayerTitle(layer));
                foreach (Outcome outcome in Enum.GetValues<Outcome>())
                {
                    json.WriteNumber(ReportWriter.OutcomeName(outcome), Count(runs, layer, outcome));
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();

            json.WriteStartArray("runs");
            foreach (var run in runs)
            {
                json.WriteStartObject();
                json.WriteString("command", run.Report.Command);
                json.WriteString("target", run.Report.Target);
                json.WriteString("outcome", ReportWriter.OutcomeName(run.Report.Worst));
                json.WriteString("started_at", run.StartedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                json.WriteNumber("duration_ms", Math.Round(run.Duration.TotalMilliseconds));
                json.WriteStartArray("results");
                foreach (var result in run.Report.Results)
                {
                    JsonReport.WriteResult(json, result); // the same fields as `verify ... --format json`
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();

            json.WriteStartArray("certificates");
            foreach (var fact in Certificates(runs))
            {
                json.WriteStartObject();
                json.WriteString("source", fact.Source);
                json.WriteString("subject", fact.Subject);
                json.WriteString("not_before", fact.NotBefore.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                json.WriteString("not_after", fact.NotAfter.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                json.WriteNumber("days_left", Math.Floor((fact.NotAfter - context.GeneratedAt).TotalDays));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    public static Outcome Worst(IReadOnlyList<EvidenceRun> runs) => runs.Count == 0 ? Outcome.NotChecked : runs.Max(r => r.Report.Worst);

    public static int Count(IReadOnlyList<EvidenceRun> runs, Layer layer, Outcome outcome) =>
        runs.Sum(r => r.Report.Results.Count(x => x.Rule.Layer == layer && x.Outcome == outcome));

    public static IEnumerable<CertificateFact> Certificates(IReadOnlyList<EvidenceRun> runs) =>
        runs.SelectMany(r => r.Report.Certificates).Distinct();
}
