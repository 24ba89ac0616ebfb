using YamlDotNet.RepresentationModel;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Config;

/// <summary>Collects the findings of one file (every finding points at the YAML node to change) and what the checks
/// looked at, so a rule with nothing to look at is reported as not checked instead of passing.</summary>
internal sealed class LintContext(string file, bool forTraceSeal)
{
    public string File { get; } = file;

    /// <summary>The config is for `traceseal collector` (its loader ran or was asked for), not the upstream collector:
    /// messages and checks follow what TraceSeal does (it reloads certificates without reload_interval).</summary>
    public bool ForTraceSeal { get; } = forTraceSeal;

    public List<CheckResult> Findings { get; } = [];

    /// <summary>Listening receiver endpoints (protocols or server receivers) inspected.</summary>
    public int ServerEndpoints { get; set; }

    /// <summary>tls blocks of receivers inspected.</summary>
    public int ReceiverTlsBlocks { get; set; }

    /// <summary>tls blocks inspected (receivers and exporters).</summary>
    public int TlsBlocks { get; set; }

    public int Exporters { get; set; }

    public int BatchProcessors { get; set; }

    public int Pipelines { get; set; }

    public int Extensions { get; set; }

    public int SealedStores { get; set; }

    public void Add(Rule rule, YamlNode node, string message) =>
        Findings.Add(CheckResult.Finding(rule, message, YamlNav.At(File, node)));

    public void Add(Rule rule, Outcome outcome, YamlNode node, string message) =>
        Findings.Add(new CheckResult(rule, outcome, message, YamlNav.At(File, node)));
}
