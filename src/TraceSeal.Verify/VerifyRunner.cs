using System.Security.Cryptography;
using TraceSeal.Verify.Findings;
using TraceSeal.Verify.Output;

namespace TraceSeal.Verify;

/// <summary>
/// Runs one `verify` check and turns it into output and an exit code, so the CLI is only option wiring
/// and the exit-code contract is tested here: 0 clean, 1 when a result reaches --fail-on, 2 when the
/// input itself is wrong (missing file, bad flag value) and nothing was verified.
/// </summary>
internal static class VerifyRunner
{
    public static async Task<int> RunAsync(Func<CancellationToken, Task<Report>> check, string format, string failOn, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(check);
        OutputFormat outputFormat;
        Outcome threshold;
        Report report;
        try
        {
            outputFormat = ReportWriter.ParseFormat(format);
            threshold = ReportWriter.ParseFailOn(failOn);
            report = await check(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or ArgumentException
                                      or CryptographicException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return Report.ExitUsage;
        }

        ReportWriter.Write(report, outputFormat, stdout);
        return report.ExitCode(threshold);
    }
}
