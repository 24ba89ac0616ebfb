using YamlDotNet.RepresentationModel;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Config;

/// <summary>Collects the findings of one file; every finding points at the YAML node to change.</summary>
internal sealed class LintContext(string file)
{
    public string File { get; } = file;

    public List<CheckResult> Findings { get; } = [];

    public void Add(Rule rule, YamlNode node, string message) =>
        Findings.Add(CheckResult.Finding(rule, message, YamlNav.At(File, node)));
}
