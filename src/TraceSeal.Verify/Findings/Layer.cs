namespace TraceSeal.Verify.Findings;

/// <summary>The three places the seeds find plaintext leaking; the checklist is printed in this order.</summary>
internal enum Layer
{
    InTransit = 0,
    InCollector = 1,
    AtRest = 2,
}
