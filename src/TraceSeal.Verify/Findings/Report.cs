namespace TraceSeal.Verify.Findings;

/// <summary>Everything one `verify` run found. Results keep the order the checks ran in; output groups them by layer.</summary>
internal sealed class Report
{
    public const int ExitClean = 0;
    public const int ExitFindings = 1;
    public const int ExitUsage = 2;

    private readonly List<CheckResult> _results = [];

    public Report(string command, string target)
    {
        Command = command;
        Target = target;
    }

    /// <summary>`config`, `endpoint`, `env` or `data`.</summary>
    public string Command { get; }

    /// <summary>What was verified: a file, an address, "environment", a directory.</summary>
    public string Target { get; }

    public IReadOnlyList<CheckResult> Results => _results;

    public void Add(CheckResult result) => _results.Add(result);

    /// <summary>Adds a pass line for every rule in <paramref name="rules"/> that produced no result, so the
    /// checklist shows what was looked at and found clean, not only what went wrong.</summary>
    public void PassUnreported(IEnumerable<Rule> rules)
    {
        foreach (var rule in rules)
        {
            if (!_results.Exists(r => ReferenceEquals(r.Rule, rule)))
            {
                _results.Add(CheckResult.Pass(rule));
            }
        }
    }

    public int Count(Outcome outcome) => _results.Count(r => r.Outcome == outcome);

    public Outcome Worst => _results.Count == 0 ? Outcome.Pass : _results.Max(r => r.Outcome);

    /// <summary>1 when any result reaches <paramref name="failOn"/> (Warn or Fail), else 0.</summary>
    public int ExitCode(Outcome failOn) => _results.Exists(r => r.Outcome >= failOn && r.Outcome != Outcome.NotChecked) ? ExitFindings : ExitClean;
}
