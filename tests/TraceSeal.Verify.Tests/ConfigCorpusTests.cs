using System.Text.RegularExpressions;
using TraceSeal.Verify.Config;
using TraceSeal.Verify.Findings;

namespace TraceSeal.Verify.Tests;

/// <summary>Data-driven: every corpus file's findings (id and line) equal its `# expect:` comments.</summary>
public sealed partial class ConfigCorpusTests
{
    public static readonly string CorpusDir = Path.Combine(AppContext.BaseDirectory, "Corpus");

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.GetFiles(CorpusDir, "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Fact]
    public void Corpus_HasAtLeastTwentyConfigs() => Assert.True(Files().Count >= 20);

    [Theory]
    [MemberData(nameof(Files))]
    public void Findings_MatchExpectComments(string name)
    {
        string path = Path.Combine(CorpusDir, name);
        var expected = Expected(File.ReadAllLines(path));

        var report = ConfigLinter.LintFile(path);
        var actual = report.Results
            .Where(r => r.Outcome is Outcome.Warn or Outcome.Fail)
            .Select(r => $"{r.Rule.Id}@{r.Location!.Line}")
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.Equal(expected, actual);
    }

    private static List<string> Expected(string[] lines)
    {
        var expected = new List<string>();
        for (int i = 0; i < lines.Length; i++)
        {
            var match = ExpectComment().Match(lines[i]);
            if (match.Success)
            {
                foreach (string id in match.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    expected.Add($"{id}@{i + 1}");
                }
            }
        }

        expected.Sort(StringComparer.Ordinal);
        return expected;
    }

    [GeneratedRegex(@"#\s*expect:\s*(.+)$")]
    private static partial Regex ExpectComment();
}
