using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Exporters.Debug;

/// <summary>How much of each batch the `debug` exporter writes (upstream's `verbosity`).</summary>
internal enum DebugVerbosity
{
    /// <summary>One line per batch with counts only: nothing of the telemetry itself.</summary>
    Basic,

    /// <summary>One line per span, data point or log record with its name and ids (contents: needs `allow_plaintext`).</summary>
    Normal,

    /// <summary>The whole request as OTLP/JSON (contents: needs `allow_plaintext`).</summary>
    Detailed,
}

/// <summary>
/// `debug` (upstream exporter/debugexporter): writes what it receives to the collector's log. Upstream's
/// defaults, except that the two verbosities that print telemetry contents are refused without an explicit opt-in.
/// </summary>
internal sealed class DebugExporterSettings : ExporterSettings
{
    /// <summary>`basic`, upstream's default since v0.90: counts only, so it is safe to leave on.</summary>
    public DebugVerbosity Verbosity { get; init; } = DebugVerbosity.Basic;

    /// <summary>Messages logged each second before sampling starts (upstream's 2).</summary>
    public int SamplingInitial { get; init; } = 2;

    /// <summary>After <see cref="SamplingInitial"/>, every Nth message of the second is logged (upstream's 1: all of them).</summary>
    public int SamplingThereafter { get; init; } = 1;

    /// <summary>True (upstream's default): through the collector's logger; false: straight to standard output.</summary>
    public bool UseInternalLogger { get; init; } = true;

    /// <summary>TraceSeal's opt-in for `normal` / `detailed`: telemetry contents in plaintext logs, warned about at every start.</summary>
    public bool AllowPlaintext { get; init; }
}
