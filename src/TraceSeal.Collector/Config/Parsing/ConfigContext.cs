using YamlDotNet.RepresentationModel;

namespace TraceSeal.Collector.Config;

/// <summary>
/// State of one load: where messages point, where relative paths resolve, and every error and warning so far.
/// Parsers never throw on bad input; they record and carry on, so one load reports everything.
/// </summary>
internal sealed class ConfigContext(string sourcePath, string baseDirectory, ConfigLoadOptions options)
{
    private readonly List<ConfigError> _errors = [];
    private readonly List<ConfigWarning> _warnings = [];

    public string SourcePath { get; } = sourcePath;
    public ConfigLoadOptions Options { get; } = options;
    public IReadOnlyList<ConfigError> Errors => _errors;

    public void Error(YamlNode at, string keyPath, string message) =>
        _errors.Add(new ConfigError(SourcePath, Line(at), Column(at), keyPath, message));

    public void Error(int line, int column, string keyPath, string message) =>
        _errors.Add(new ConfigError(SourcePath, line, column, keyPath, message));

    public void Warn(YamlNode at, string keyPath, string message) =>
        _warnings.Add(new ConfigWarning(SourcePath, Line(at), Column(at), keyPath, message));

    /// <summary>Errors in file order (parsers find some late, e.g. pipeline references).</summary>
    public IReadOnlyList<ConfigError> SortedErrors() =>
        [.. _errors.OrderBy(e => e.Line).ThenBy(e => e.Column)];

    public IReadOnlyList<ConfigWarning> SortedWarnings() =>
        [.. _warnings.OrderBy(w => w.Line).ThenBy(w => w.Column)];

    /// <summary>Relative paths are relative to the config file, not the working directory, as upstream users expect.</summary>
    public string ResolvePath(string path) =>
        Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(baseDirectory, path));

    private static int Line(YamlNode node) => (int)node.Start.Line;

    private static int Column(YamlNode node) => (int)node.Start.Column;
}
