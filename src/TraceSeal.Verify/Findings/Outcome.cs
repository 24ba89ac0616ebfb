namespace TraceSeal.Verify.Findings;

/// <summary>The result of one check. Ordered by badness: `--fail-on` compares with &gt;=.</summary>
internal enum Outcome
{
    Pass = 0,

    /// <summary>The check could not run (a tool is missing, an input was not given). Never fails a run.</summary>
    NotChecked = 1,
    Warn = 2,
    Fail = 3,
}
