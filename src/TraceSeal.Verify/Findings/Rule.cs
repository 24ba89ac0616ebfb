namespace TraceSeal.Verify.Findings;

/// <summary>One entry of the finding catalogue: a stable id (used by SARIF and by CI suppressions),
/// the layer it belongs to, the severity it has when it does not pass, a title and the fix.</summary>
internal sealed record Rule(string Id, Layer Layer, Outcome Severity, string Title, string Fix);
