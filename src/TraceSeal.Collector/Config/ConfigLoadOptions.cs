namespace TraceSeal.Collector.Config;

/// <summary>Seams for the loader; the defaults are what the collector uses.</summary>
internal sealed class ConfigLoadOptions
{
    public static ConfigLoadOptions Default { get; } = new();

    /// <summary>
    /// Checks that referenced files (certificates, keys, recipients) exist and that recipients hold no private
    /// key. On by default so a bad path fails at load time with a line number, not at the first handshake;
    /// off only for linting a config written for another host.
    /// </summary>
    public bool CheckFiles { get; init; } = true;

    /// <summary>Where `${env:VAR}` looks values up; defaults to the process environment (tests inject their own).</summary>
    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;
}
