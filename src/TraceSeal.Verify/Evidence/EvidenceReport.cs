using System.Security.Cryptography;
using System.Text;

namespace TraceSeal.Verify.Evidence;

/// <summary>Writes report.json, then report.html carrying the JSON file's SHA-256; returns both paths and the hash.</summary>
internal static class EvidenceReport
{
    public const string JsonName = "report.json";
    public const string HtmlName = "report.html";

    public sealed record Written(string JsonPath, string HtmlPath, string Sha256);

    public static Written Write(string directory, EvidenceContext context, IReadOnlyList<EvidenceRun> runs)
    {
        Directory.CreateDirectory(directory);
        byte[] json = EvidenceJson.Render(context, runs);
        string sha = Convert.ToHexStringLower(SHA256.HashData(json));
        string jsonPath = Path.Combine(directory, JsonName);
        string htmlPath = Path.Combine(directory, HtmlName);
        File.WriteAllBytes(jsonPath, json);
        File.WriteAllText(htmlPath, EvidenceHtml.Render(context, runs, JsonName, sha), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        return new Written(jsonPath, htmlPath, sha);
    }
}
