using System.Globalization;
using System.Net;
using System.Text;
using TraceSeal.Verify.Findings;
using TraceSeal.Verify.Output;

namespace TraceSeal.Verify.Evidence;

/// <summary>
/// The human half of the evidence (report.html): one self-contained file (inline CSS, no script, no external
/// asset, so it opens offline and prints as it looks), for an auditor to read, print and file. A summary by the
/// seeds' three layers, the certificates and their expiry dates, every check with its verdict, the observation it
/// rests on and the fix, and the SHA-256 of report.json so the two files can be matched.
/// </summary>
internal static class EvidenceHtml
{
    private const string Style = """
        :root { --fail: #b3261e; --warn: #8a5a00; --pass: #1e6b34; --skip: #5f6368; }
        * { box-sizing: border-box; }
        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1f1f1f; margin: 0 auto; max-width: 1100px; padding: 24px; }
        h1 { font-size: 24px; margin: 0 0 4px; }
        h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 2px solid #ddd; padding-bottom: 4px; }
        h3 { font-size: 15px; margin: 18px 0 6px; }
        .meta { color: #444; margin: 2px 0; }
        code, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
        table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
        th, td { border: 1px solid #d0d0d0; padding: 5px 7px; text-align: left; vertical-align: top; }
        th { background: #f3f3f3; font-weight: 600; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; }
        .badge { display: inline-block; min-width: 86px; text-align: center; font-weight: 700; border-radius: 3px; padding: 1px 6px; color: #fff; font-size: 12px; }
        .fail { background: var(--fail); } .warn { background: var(--warn); } .pass { background: var(--pass); } .skip { background: var(--skip); }
        .verdict { font-size: 18px; margin: 12px 0; padding: 10px 14px; border-left: 6px solid; background: #fafafa; }
        .verdict.fail { border-color: var(--fail); background: #fdecea; color: #1f1f1f; } .verdict.warn { border-color: var(--warn); background: #fff4e0; color: #1f1f1f; }
        .verdict.pass { border-color: var(--pass); background: #e8f5ec; color: #1f1f1f; } .verdict.skip { border-color: var(--skip); background: #f1f3f4; color: #1f1f1f; }
        .fix { color: #444; font-size: 12px; margin-top: 3px; }
        .fix::before { content: "Fix: "; font-weight: 600; }
        .loc { color: #555; font-size: 12px; }
        .expired, .soon { font-weight: 700; color: var(--fail); }
        footer { margin-top: 32px; color: #555; font-size: 12px; border-top: 1px solid #ddd; padding-top: 8px; }
        @media print {
          body { max-width: none; padding: 0; font-size: 10.5pt; }
          h2 { break-after: avoid; } tr, .verdict { break-inside: avoid; }
          .badge, .verdict { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
          @page { margin: 14mm; }
        }
        """;

    public static string Render(EvidenceContext context, IReadOnlyList<EvidenceRun> runs, string jsonFileName, string jsonSha256)
    {
        var html = new StringBuilder();
        Outcome worst = EvidenceJson.Worst(runs);
        string when = context.GeneratedAt.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<title>TraceSeal verification report — ").Append(E(context.Host)).Append(", ").Append(E(when)).Append("</title>\n")
            .Append("<style>\n").Append(Style).Append("\n</style>\n</head>\n<body>\n");

        html.Append("<header>\n<h1>TraceSeal verification report</h1>\n")
            .Append("<p class=\"meta\">Generated ").Append(E(when)).Append(" on host <b>").Append(E(context.Host)).Append("</b> by user ")
            .Append(E(context.User)).Append(", in <code>").Append(E(context.WorkingDirectory)).Append("</code></p>\n")
            .Append("<p class=\"meta\">Tool: traceseal ").Append(E(context.ToolVersion)).Append(" · command: <code>").Append(E(context.CommandLine)).Append("</code></p>\n")
            .Append("<p class=\"meta\">Evidence file: <code>").Append(E(jsonFileName)).Append("</code>, SHA-256 <code id=\"json-sha256\">").Append(jsonSha256).Append("</code></p>\n")
            .Append("<div class=\"verdict ").Append(Css(worst)).Append("\" id=\"verdict\"><b>").Append(E(Verdict(worst))).Append("</b> — ")
            .Append(Totals(runs)).Append("</div>\n</header>\n");

        Summary(html, runs);
        Certificates(html, context, runs);

        html.Append("<h2>Checks</h2>\n<p>Each line is one check made in this run: its verdict, what was observed, and the fix. ")
            .Append("\"Not checked\" means the check could not run here and says why; it is never counted as a pass.</p>\n");
        foreach (var run in runs)
        {
            Run(html, run);
        }

        html.Append("<footer>\n<p>Layers follow the seeds: <b>in transit</b> (SDK to collector: TLS 1.2+, mutual TLS, no plaintext fallback), ")
            .Append("<b>in the collector</b> (bounded memory, nothing copied into logs, debug endpoints private), ")
            .Append("<b>at rest</b> (every stored byte sealed, private modes).</p>\n")
            .Append("<p>To match this page with its evidence file: <code>sha256sum ").Append(E(jsonFileName)).Append("</code> must print <code>")
            .Append(jsonSha256).Append("</code>.</p>\n</footer>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static void Summary(StringBuilder html, IReadOnlyList<EvidenceRun> runs)
    {
        html.Append("<h2>Summary by layer</h2>\n<table id=\"summary\">\n<thead><tr><th>Layer</th><th>Verdict</th><th>Fail</th><th>Warn</th><th>Pass</th><th>Not checked</th></tr></thead>\n<tbody>\n");
        foreach (Layer layer in Enum.GetValues<Layer>())
        {
            int fail = EvidenceJson.Count(runs, layer, Outcome.Fail);
            int warn = EvidenceJson.Count(runs, layer, Outcome.Warn);
            int pass = EvidenceJson.Count(runs, layer, Outcome.Pass);
            int skip = EvidenceJson.Count(runs, layer, Outcome.NotChecked);
            Outcome worst = fail > 0 ? Outcome.Fail : warn > 0 ? Outcome.Warn : skip > 0 || pass == 0 ? Outcome.NotChecked : Outcome.Pass;
            html.Append("<tr><td>").Append(E(ReportWriter.LayerTitle(layer))).Append("</td><td>").Append(Badge(worst, pass > 0)).Append("</td>")
                .Append("<td class=\"n\">").Append(fail).Append("</td><td class=\"n\">").Append(warn).Append("</td><td class=\"n\">")
                .Append(pass).Append("</td><td class=\"n\">").Append(skip).Append("</td></tr>\n");
        }

        html.Append("</tbody>\n</table>\n<table>\n<thead><tr><th>Check run</th><th>Target</th><th>Verdict</th><th>Started (UTC)</th><th>Took</th></tr></thead>\n<tbody>\n");
        foreach (var run in runs)
        {
            html.Append("<tr><td>verify ").Append(E(run.Report.Command)).Append("</td><td class=\"mono\">").Append(E(run.Report.Target)).Append("</td><td>")
                .Append(Badge(run.Report.Worst, run.Report.Count(Outcome.Pass) > 0)).Append("</td><td>").Append(run.StartedAt.ToString("HH:mm:ss", CultureInfo.InvariantCulture))
                .Append("</td><td class=\"n\">").Append(run.Duration.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)).Append(" s</td></tr>\n");
        }

        html.Append("</tbody>\n</table>\n");
    }

    private static void Certificates(StringBuilder html, EvidenceContext context, IReadOnlyList<EvidenceRun> runs)
    {
        var facts = EvidenceJson.Certificates(runs).ToList();
        html.Append("<h2>Certificates</h2>\n");
        if (facts.Count == 0)
        {
            html.Append("<p>No certificate was read in this run.</p>\n");
            return;
        }

        html.Append("<table id=\"certificates\">\n<thead><tr><th>Where</th><th>Subject</th><th>Valid from</th><th>Expires</th><th>Days left</th></tr></thead>\n<tbody>\n");
        foreach (var fact in facts.OrderBy(f => f.NotAfter))
        {
            double days = Math.Floor((fact.NotAfter - context.GeneratedAt).TotalDays);
            string cls = days < 0 ? " class=\"expired\"" : days < 30 ? " class=\"soon\"" : string.Empty;
            html.Append("<tr><td class=\"mono\">").Append(E(fact.Source)).Append("</td><td>").Append(E(fact.Subject)).Append("</td><td>")
                .Append(fact.NotBefore.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).Append("</td><td>")
                .Append(fact.NotAfter.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)).Append("</td><td class=\"n\"><span").Append(cls).Append('>')
                .Append(days < 0 ? "expired" : days.ToString(CultureInfo.InvariantCulture)).Append("</span></td></tr>\n");
        }

        html.Append("</tbody>\n</table>\n");
    }

    private static void Run(StringBuilder html, EvidenceRun run)
    {
        html.Append("<h3>verify ").Append(E(run.Report.Command)).Append(" — <span class=\"mono\">").Append(E(run.Report.Target)).Append("</span></h3>\n")
            .Append("<table class=\"checks\">\n<thead><tr><th style=\"width:110px\">Verdict</th><th style=\"width:105px\">Rule</th><th style=\"width:24%\">Check</th><th>Observation</th></tr></thead>\n<tbody>\n");
        foreach (Layer layer in Enum.GetValues<Layer>())
        {
            foreach (var result in run.Report.Results.Where(r => r.Rule.Layer == layer))
            {
                html.Append("<tr><td>").Append(Badge(result.Outcome)).Append("</td><td class=\"mono\">").Append(E(result.Rule.Id)).Append("</td><td>")
                    .Append(E(result.Rule.Title)).Append("<div class=\"loc\">").Append(E(ReportWriter.LayerTitle(layer))).Append("</div></td><td>");
                if (result.Location is { } at)
                {
                    html.Append("<div class=\"loc mono\">").Append(E(at.ToString())).Append("</div>");
                }

                html.Append(E(result.Message));
                if (result.Outcome is Outcome.Warn or Outcome.Fail)
                {
                    html.Append("<div class=\"fix\">").Append(E(result.Rule.Fix)).Append("</div>");
                }

                html.Append("</td></tr>\n");
            }
        }

        html.Append("</tbody>\n</table>\n");
    }

    private static string Totals(IReadOnlyList<EvidenceRun> runs)
    {
        int Count(Outcome o) => runs.Sum(r => r.Report.Count(o));
        return $"{Count(Outcome.Fail)} fail, {Count(Outcome.Warn)} warn, {Count(Outcome.Pass)} pass, {Count(Outcome.NotChecked)} not checked, in {runs.Count} check run(s)";
    }

    internal static string Verdict(Outcome worst) => worst switch
    {
        Outcome.Fail => "FAIL: plaintext or unauthenticated paths were found",
        Outcome.Warn => "WARN: no failure, but weaknesses to fix",
        Outcome.NotChecked => "INCOMPLETE: no failure or warning where checked, but some checks could not run",
        _ => "PASS: every check ran and passed",
    };

    /// <summary>A verdict badge; not checked next to passes reads "incomplete", never "pass".</summary>
    private static string Badge(Outcome outcome, bool somePassed = false) =>
        $"<span class=\"badge {Css(outcome)}\">{(outcome != Outcome.NotChecked ? ReportWriter.OutcomeName(outcome).ToUpperInvariant() : somePassed ? "INCOMPLETE" : "NOT CHECKED")}</span>";

    private static string Css(Outcome outcome) => outcome switch
    {
        Outcome.Fail => "fail",
        Outcome.Warn => "warn",
        Outcome.Pass => "pass",
        _ => "skip",
    };

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
