namespace TraceSeal.Verify.Findings;

/// <summary>1-based line and column, as editors and SARIF count them.</summary>
internal sealed record SourceLocation(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}
