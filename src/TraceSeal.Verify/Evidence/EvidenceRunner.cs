using System.Diagnostics;
using System.Security.Cryptography;
using TraceSeal.Verify.Config;
using TraceSeal.Verify.Data;
using TraceSeal.Verify.Endpoint;
using TraceSeal.Verify.Env;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Evidence;

/// <summary>
/// `verify report`: every check of the plan in one go, in the order of the seeds' layers as far as inputs go
/// (configs, endpoints and the app's environment in transit, the collector, stored data at rest). A check that
/// cannot run at all (a missing file, a store that is not there) becomes a run whose rules are all "not checked"
/// with that reason: the report still lists it, it never disappears or passes.
/// </summary>
internal static class EvidenceRunner
{
    public static async Task<IReadOnlyList<EvidenceRun>> RunAsync(EvidencePlan plan, CollectorLoader? loader, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var runs = new List<EvidenceRun>();
        foreach (string config in plan.Configs)
        {
            runs.Add(await TimedAsync("config", config, Catalogue.ConfigRules, _ => Task.FromResult(ConfigLinter.LintFile(config, loader)), ct).ConfigureAwait(false));
        }

        foreach (var endpoint in plan.Endpoints)
        {
            runs.Add(await TimedAsync("endpoint", endpoint.Target.Authority, Catalogue.EndpointRules, c => EndpointVerifier.VerifyAsync(endpoint, c), ct).ConfigureAwait(false));
        }

        if (plan.Environment is { } variables)
        {
            runs.Add(await TimedAsync("env", plan.EnvironmentSource, Catalogue.EnvRules,
                c => EnvChecker.CheckAsync(variables, DateTimeOffset.UtcNow, null, c, plan.EnvironmentSource), ct).ConfigureAwait(false));
        }

        foreach (string store in plan.DataStores)
        {
            runs.Add(await TimedAsync("data", store, S3DataTarget.IsS3Uri(store) ? Catalogue.S3DataRules : Catalogue.DataRules,
                c => DataScanner.VerifyAsync(store, null, null, false, c), ct).ConfigureAwait(false));
        }

        return runs;
    }

    private static async Task<EvidenceRun> TimedAsync(string command, string target, IReadOnlyList<Rule> rules, Func<CancellationToken, Task<Report>> check, CancellationToken ct)
    {
        var started = DateTimeOffset.UtcNow;
        long t0 = Stopwatch.GetTimestamp();
        Report report;
        try
        {
            report = await check(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ArgumentException or CryptographicException or UnauthorizedAccessException)
        {
            report = new Report(command, target);
            report.NotCheckedUnreported(rules, $"could not run: {e.Message}");
        }

        return new EvidenceRun(report, started, Stopwatch.GetElapsedTime(t0));
    }
}
