namespace TraceSeal.Collector.Config;

/// <summary>One problem in a config file, pointing at the offending key or value (1-based line and column).</summary>
internal sealed record ConfigError(string File, int Line, int Column, string KeyPath, string Message)
{
    public override string ToString() => $"{File}:{Line}:{Column}: {KeyPath}: {Message}";
}

/// <summary>
/// Something that loads but weakens security (plaintext opt-outs, server-only TLS, fsync off). The collector
/// prints every warning at every start, so an opt-out can never be forgotten.
/// </summary>
internal sealed record ConfigWarning(string File, int Line, int Column, string KeyPath, string Message)
{
    public override string ToString() => $"{File}:{Line}:{Column}: {KeyPath}: {Message}";
}

/// <summary>Thrown once per load with every error found, so a user fixes the file in one pass.</summary>
internal sealed class ConfigException : Exception
{
    public ConfigException(IReadOnlyList<ConfigError> errors)
        : base(string.Join('\n', errors))
    {
        Errors = errors;
    }

    public IReadOnlyList<ConfigError> Errors { get; }
}
