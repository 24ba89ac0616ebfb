namespace TraceSeal.Otlp;

/// <summary>The three OTLP signals; each has its own request message, gRPC method and HTTP path.</summary>
public enum OtlpSignal
{
    Traces = 0,
    Metrics = 1,
    Logs = 2,
}
