using System.Text;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Output;

/// <summary>
/// The checklist as a person reads it, grouped like the seeds (in transit, in the collector, at rest):
/// <code>
/// In transit
///   FAIL  TS-CFG-001   otel.yaml:6:7  receivers.otlp.protocols.grpc has no tls block: it accepts plaintext
///                      fix: add tls: {cert_file, key_file, client_ca_file}; ...
///   pass  TS-CFG-005   TLS versions are 1.2 or later
/// </code>
/// Failures are upper-case so they stand out in a wall of passes.
/// </summary>
internal static class TextReport
{
    private const string Indent = "                     "; // under the message: "  FAIL  " + id column

    public static string Render(Report report)
    {
        var text = new StringBuilder();
        text.Append("traceseal verify ").Append(report.Command).Append(' ').Append(report.Target).Append('\n');
        foreach (Layer layer in Enum.GetValues<Layer>())
        {
            var results = report.Results.Where(r => r.Rule.Layer == layer).ToList();
            if (results.Count == 0)
            {
                continue;
            }

            text.Append('\n').Append(ReportWriter.LayerTitle(layer)).Append('\n');
            foreach (var result in results)
            {
                text.Append("  ").Append(Tag(result.Outcome)).Append("  ").Append(result.Rule.Id.PadRight(12)).Append(' ');
                if (result.Location is not null)
                {
                    text.Append(result.Location).Append("  ");
                }

                text.Append(result.Message).Append('\n');
                if (result.Outcome is Outcome.Warn or Outcome.Fail)
                {
                    text.Append(Indent).Append("fix: ").Append(result.Rule.Fix).Append('\n');
                }
            }
        }

        text.Append('\n')
            .Append($"{report.Count(Outcome.Fail)} fail, {report.Count(Outcome.Warn)} warn, ")
            .Append($"{report.Count(Outcome.Pass)} pass, {report.Count(Outcome.NotChecked)} not checked\n");
        return text.ToString();
    }

    private static string Tag(Outcome outcome) => outcome switch
    {
        Outcome.Pass => "pass",
        Outcome.NotChecked => "skip",
        Outcome.Warn => "WARN",
        _ => "FAIL",
    };
}
