namespace TraceSeal.OpenTelemetry;

/// <summary>
/// The exporter's configuration is unsafe or unusable; thrown when the provider is built, so the app fails at
/// start-up instead of exporting in plaintext or not at all. <see cref="Exception.Message"/> lists every problem,
/// each naming the variable (or option) and the file involved and what to do.
/// </summary>
public sealed class SecureOtlpConfigurationException : Exception
{
    /// <summary>Creates the exception from one or more problems.</summary>
    public SecureOtlpConfigurationException(IReadOnlyList<string> problems)
        : base(Format(problems))
    {
        Problems = problems;
    }

    /// <summary>Creates the exception from a single problem.</summary>
    public SecureOtlpConfigurationException(string message)
        : this([message])
    {
    }

    /// <summary>Creates the exception from a single problem (for serializers and analyzers).</summary>
    public SecureOtlpConfigurationException()
        : this("invalid secure OTLP exporter configuration")
    {
    }

    /// <summary>Creates the exception from a single problem and its cause.</summary>
    public SecureOtlpConfigurationException(string message, Exception innerException)
        : base(Format([message]), innerException)
    {
        Problems = [message];
    }

    /// <summary>Each problem on its own, in the order found.</summary>
    public IReadOnlyList<string> Problems { get; } = [];

    private static string Format(IReadOnlyList<string> problems) =>
        problems.Count == 1
            ? "TraceSeal OTLP exporter refuses to start: " + problems[0]
            : "TraceSeal OTLP exporter refuses to start (" + problems.Count + " problems):\n  - " + string.Join("\n  - ", problems);
}
