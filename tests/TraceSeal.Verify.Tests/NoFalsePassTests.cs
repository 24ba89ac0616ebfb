using TraceSeal.Verify.Config;
using TraceSeal.Verify.Data;
using TraceSeal.Verify.Endpoint;
using TraceSeal.Verify.Env;
using TraceSeal.Verify.Findings;
using TraceSeal.Verify.Tests.Support;

namespace TraceSeal.Verify.Tests;

/// <summary>
/// Issue 13's rule for every command: a rule whose input was absent never prints pass. Each case gives a command
/// nothing to look at (an empty environment, an empty config, an empty directory, an address nobody listens on)
/// and asserts that every rule still reports, and none of them as a pass (beyond what was observed: the config
/// parsed, the directory's own mode).
/// </summary>
public sealed class NoFalsePassTests
{
    [Fact]
    public void Env_with_nothing_set()
    {
        var report = EnvChecker.Check(new Dictionary<string, string>(), DateTimeOffset.UtcNow);
        AssertNoPass(report, Catalogue.EnvRules);
        Assert.Equal(Outcome.Fail, report.Worst);
    }

    [Theory]
    [InlineData("{}\n")]
    [InlineData("service: {}\n")]
    [InlineData("receivers: {}\nexporters: {}\nprocessors: {}\nextensions: {}\nservice:\n  pipelines: {}\n")]
    public void Config_with_empty_sections(string yaml)
    {
        foreach (var flavor in Enum.GetValues<ConfigFlavor>())
        {
            var report = ConfigLinter.Lint(yaml, "empty.yaml", loader: null, flavor);
            AssertNoPass(report, Catalogue.ConfigRules, except: "TS-CFG-000");
        }
    }

    [UnixFact]
    public void Data_in_an_empty_directory()
    {
        string dir = Directory.CreateTempSubdirectory("traceseal-empty-").FullName;
        try
        {
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var report = DataScanner.Scan(dir);
            AssertNoPass(report, Catalogue.DataRules, except: "TS-DATA-003");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Endpoint_nobody_listens_on()
    {
        var report = await EndpointVerifier.VerifyAsync(new EndpointOptions(EndpointTarget.Parse($"127.0.0.1:{FreePort.Get()}")), default);
        AssertNoPass(report, Catalogue.EndpointRules);
    }

    /// <summary>Issue 13: `verify data .traceseal` gave 9 FAILs about certificates and keys.</summary>
    [Fact]
    public void Data_on_a_traceseal_up_directory_names_the_store_to_give()
    {
        string dir = Directory.CreateTempSubdirectory("traceseal-up-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "collector.yaml"), "receivers: {}\n");
            Directory.CreateDirectory(Path.Combine(dir, "certs"));
            Directory.CreateDirectory(Path.Combine(dir, "keys"));
            Directory.CreateDirectory(Path.Combine(dir, "data"));

            var e = Assert.Throws<ArgumentException>(() => DataScanner.Scan(dir));
            string store = Path.Combine(dir, "data");
            Assert.Equal($"{dir} is a `traceseal up` directory (collector.yaml, certs/, keys/): its certificates and keys are meant to be there. " +
                         $"The sealed store is {store}: run `traceseal verify data {store}` (or `traceseal verify report --up-dir {dir}` for everything)", e.Message);
            Assert.Equal(store, DataScanner.UpStoreOf(dir));
            Assert.Null(DataScanner.UpStoreOf(store));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void AssertNoPass(Report report, IReadOnlyList<Rule> rules, string? except = null)
    {
        foreach (var rule in rules)
        {
            Assert.Contains(report.Results, r => r.Rule == rule);
        }

        Assert.All(report.Results.Where(r => r.Rule.Id != except), r => Assert.True(r.Outcome != Outcome.Pass, $"{r.Rule.Id} passed with nothing to check: {r.Message}"));
    }
}
