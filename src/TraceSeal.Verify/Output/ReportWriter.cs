using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Output;

/// <summary>Picks the writer for a format; the only entry point the CLI needs.</summary>
internal static class ReportWriter
{
    public static readonly string[] FormatNames = ["text", "json", "sarif"];

    public static readonly string[] FailOnNames = ["warn", "fail"];

    public static OutputFormat ParseFormat(string text) => text.Trim().ToLowerInvariant() switch
    {
        "text" => OutputFormat.Text,
        "json" => OutputFormat.Json,
        "sarif" => OutputFormat.Sarif,
        _ => throw new ArgumentException($"unknown format '{text}'; valid values: {string.Join(", ", FormatNames)}", nameof(text)),
    };

    public static Outcome ParseFailOn(string text) => text.Trim().ToLowerInvariant() switch
    {
        "warn" => Outcome.Warn,
        "fail" => Outcome.Fail,
        _ => throw new ArgumentException($"unknown --fail-on '{text}'; valid values: {string.Join(", ", FailOnNames)}", nameof(text)),
    };

    public static void Write(Report report, OutputFormat format, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        switch (format)
        {
            case OutputFormat.Json:
                output.Write(JsonReport.Render(report));
                break;
            case OutputFormat.Sarif:
                output.Write(SarifReport.Render(report));
                break;
            default:
                output.Write(TextReport.Render(report));
                break;
        }
    }

    internal static string LayerTitle(Layer layer) => layer switch
    {
        Layer.InTransit => "In transit",
        Layer.InCollector => "In the collector",
        _ => "At rest",
    };

    internal static string OutcomeName(Outcome outcome) => outcome switch
    {
        Outcome.Pass => "pass",
        Outcome.NotChecked => "not checked",
        Outcome.Warn => "warn",
        _ => "fail",
    };
}
