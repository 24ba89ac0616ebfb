namespace TraceSeal.Otlp;

/// <summary>
/// Why an OTLP payload was refused. <see cref="Code"/> is a stable snake_case label (usable as a metric label);
/// <see cref="Message"/> names the field path or offset and the problem, never payload contents.
/// </summary>
public readonly record struct OtlpError(string Code, string Message);
