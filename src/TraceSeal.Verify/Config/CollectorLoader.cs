namespace TraceSeal.Verify.Config;

/// <summary>One error of the collector's own config loader, as `traceseal collector --config` prints it.</summary>
internal sealed record LoaderError(string File, int Line, int Column, string KeyPath, string Message);

/// <summary>
/// Runs `traceseal collector`'s config loader on YAML text (relative paths resolve against <paramref name="path"/>'s
/// directory) and returns every error; empty when it loads. Passed in by the CLI so this project does not depend
/// on the collector (and its sealing code): the verifier checks the writer, it does not share its code.
/// </summary>
internal delegate IReadOnlyList<LoaderError> CollectorLoader(string yaml, string path);

/// <summary>Which collector the config is for: decides whether the loader's errors are findings.</summary>
internal enum ConfigFlavor
{
    /// <summary>TraceSeal, unless it uses components TraceSeal does not run (then upstream).</summary>
    Auto,
    TraceSeal,
    Upstream,
}
