namespace TraceSeal.Verify.Endpoint;

/// <summary>Nothing listens at the address: every check would say the same, so the run reports it once.</summary>
internal sealed class EndpointUnreachableException(string message, Exception inner) : IOException(message, inner);
