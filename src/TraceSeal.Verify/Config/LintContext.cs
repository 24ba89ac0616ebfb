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

    /// <summary>Certificates the config's files hold (when they exist here), for the evidence report's expiry table.</summary>
    public List<CertificateFact> Certificates { get; } = [];

    /// <summary>Reads the PEM certificates of a file the config names (relative to the config's directory, as the
    /// collector resolves it). A file that is not there is the loader's finding (TS-CFG-020), not this one's.</summary>
    public void ReadCertificates(string key, string path)
    {
        string full = Path.IsPathRooted(path) ? path : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(File)) ?? ".", path);
        if (!System.IO.File.Exists(full))
        {
            return;
        }

        var certificates = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(full);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (var certificate in certificates)
        {
            Certificates.Add(Facts.Of($"{key}={path}", certificate));
            certificate.Dispose();
        }
    }

    public void Add(Rule rule, YamlNode node, string message) =>
        Findings.Add(CheckResult.Finding(rule, message, YamlNav.At(File, node)));

    public void Add(Rule rule, Outcome outcome, YamlNode node, string message) =>
        Findings.Add(new CheckResult(rule, outcome, message, YamlNav.At(File, node)));
}
