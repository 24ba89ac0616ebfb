namespace TraceSeal.Verify.Findings;

/// <summary>One line of the checklist: which rule, how it came out, what exactly was seen, and where.</summary>
internal sealed record CheckResult(Rule Rule, Outcome Outcome, string Message, SourceLocation? Location = null)
{
    public static CheckResult Pass(Rule rule, string? message = null) => new(rule, Outcome.Pass, message ?? rule.Title);

    public static CheckResult NotChecked(Rule rule, string why) => new(rule, Outcome.NotChecked, why);

    /// <summary>A finding at the rule's own severity.</summary>
    public static CheckResult Finding(Rule rule, string message, SourceLocation? location = null) => new(rule, rule.Severity, message, location);
}
