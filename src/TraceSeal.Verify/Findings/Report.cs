namespace TraceSeal.Verify.Findings;

/// <summary>A certificate a check looked at, with where it came from: the evidence report lists every expiry date.</summary>
internal sealed record CertificateFact(string Source, string Subject, DateTimeOffset NotBefore, DateTimeOffset NotAfter);

/// <summary>Everything one `verify` run found. Results keep the order the checks ran in; output groups them by layer.</summary>
internal sealed class Report
{
    public const int ExitClean = 0;
    public const int ExitFindings = 1;
    public const int ExitUsage = 2;

    private readonly List<CheckResult> _results = [];
    private readonly List<CertificateFact> _certificates = [];

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

    /// <summary>Certificates seen during the run (files and live endpoints), in the order they were seen.</summary>
    public IReadOnlyList<CertificateFact> Certificates => _certificates;

    public void Add(CheckResult result) => _results.Add(result);

    public void AddCertificate(CertificateFact fact)
    {
        if (!_certificates.Contains(fact))
        {
            _certificates.Add(fact);
        }
    }

    public bool Has(Rule rule) => _results.Exists(r => ReferenceEquals(r.Rule, rule));

    /// <summary>
    /// Every rule in <paramref name="rules"/> that produced no result is reported as not checked, with
    /// <paramref name="why"/>: a check that made no observation in this run never reads as a pass.
    /// </summary>
    public void NotCheckedUnreported(IEnumerable<Rule> rules, string why)
    {
        foreach (var rule in rules)
        {
            if (!Has(rule))
            {
                _results.Add(CheckResult.NotChecked(rule, why));
            }
        }
    }

    public int Count(Outcome outcome) => _results.Count(r => r.Outcome == outcome);

    public Outcome Worst => _results.Count == 0 ? Outcome.Pass : _results.Max(r => r.Outcome);

    /// <summary>1 when any result reaches <paramref name="failOn"/> (Warn or Fail), else 0.</summary>
    public int ExitCode(Outcome failOn) => _results.Exists(r => r.Outcome >= failOn && r.Outcome != Outcome.NotChecked) ? ExitFindings : ExitClean;
}
