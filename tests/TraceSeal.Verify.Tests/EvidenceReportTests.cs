using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using TraceSeal.Cli.Commands;
using TraceSeal.Verify.Endpoint;
using TraceSeal.Verify.Evidence;
using TraceSeal.Verify.Findings;
using TraceSeal.Verify.Tests.Support;
using Xunit.Abstractions;

namespace TraceSeal.Verify.Tests;

/// <summary>
/// `verify report` (issue 13, item 5): every applicable check in one go, written as report.json and a self-contained
/// report.html that shows the JSON's SHA-256; the HTML is opened in headless Chromium and its screenshot kept as a
/// test artifact (bin/.../artifacts/verify-report.png, or $TRACESEAL_TEST_ARTIFACTS).
/// </summary>
public sealed partial class EvidenceReportTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task Report_covers_every_layer_and_matches_its_json()
    {
        var (written, runs) = await WriteReportAsync();

        byte[] json = await File.ReadAllBytesAsync(written.JsonPath);
        string html = await File.ReadAllTextAsync(written.HtmlPath);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(json)), written.Sha256);
        Assert.Equal(written.Sha256, ShownHash().Match(html).Groups[1].Value);

        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal("traceseal-verify-report/1", root.GetProperty("schema").GetString());
        Assert.Equal(Environment.MachineName, root.GetProperty("host").GetString());
        Assert.Equal(["In transit", "In the collector", "At rest"], root.GetProperty("summary").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["config", "endpoint", "env", "data"], root.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("command").GetString()));
        Assert.Equal("fail", root.GetProperty("outcome").GetString()); // the seed's YAML as written does not load
        var certificates = root.GetProperty("certificates").EnumerateArray().ToList();
        Assert.Contains(certificates, c => c.GetProperty("source").GetString()!.StartsWith("server certificate of 127.0.0.1:", StringComparison.Ordinal));
        Assert.Contains(certificates, c => c.GetProperty("source").GetString() == $"OTEL_EXPORTER_OTLP_CERTIFICATE={_pki.CaFile}");
        Assert.All(certificates, c => Assert.True(c.GetProperty("days_left").GetDouble() > 300));

        var every = root.GetProperty("runs").EnumerateArray().SelectMany(r => r.GetProperty("results").EnumerateArray()).ToList();
        Assert.Equal(runs.Sum(r => r.Report.Results.Count), every.Count);
        Assert.All(every.Where(r => r.GetProperty("outcome").GetString() is "fail" or "warn"), r => Assert.False(string.IsNullOrEmpty(r.GetProperty("fix").GetString())));
        Assert.All(every, r => Assert.False(string.IsNullOrEmpty(r.GetProperty("message").GetString())));

        // Self-contained and printable: inline CSS, no script, nothing fetched from anywhere.
        Assert.Contains("<style>", html, StringComparison.Ordinal);
        Assert.Contains("@media print", html, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"<script|<link|\ssrc=|\shref=|url\(|@import", html);
        foreach (string layer in new[] { "In transit", "In the collector", "At rest" })
        {
            Assert.Contains($"<tr><td>{layer}</td>", html, StringComparison.Ordinal);
        }

        Assert.Contains("FAIL: plaintext or unauthenticated paths were found", html, StringComparison.Ordinal);
        Assert.DoesNotContain("disposed object", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Html_opens_in_headless_chromium_with_a_screenshot_artifact()
    {
        var (written, _) = await WriteReportAsync();
        string artifacts = Environment.GetEnvironmentVariable("TRACESEAL_TEST_ARTIFACTS") ?? Path.Combine(AppContext.BaseDirectory, "artifacts");
        Directory.CreateDirectory(artifacts);
        string png = Path.Combine(artifacts, "verify-report.png");
        File.Delete(png);

        string dom = await Chromium.DumpDomAsync(written.HtmlPath);
        Assert.Contains($"<code id=\"json-sha256\">{written.Sha256}</code>", dom, StringComparison.Ordinal);
        Assert.Contains("<table id=\"summary\">", dom, StringComparison.Ordinal);

        await Chromium.ScreenshotAsync(written.HtmlPath, png);
        byte[] image = await File.ReadAllBytesAsync(png);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], image[..4]);
        int width = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(image.AsSpan(16, 4)); // IHDR width (PNG spec §11.2.2)
        Assert.Equal(1280, width);
        Assert.True(image.Length > 30_000, $"a {image.Length}-byte screenshot is too small to hold the rendered report");
        File.Copy(written.HtmlPath, Path.Combine(artifacts, "verify-report.html"), overwrite: true);
        File.Copy(written.JsonPath, Path.Combine(artifacts, "verify-report.json"), overwrite: true);
        output.WriteLine($"screenshot: {png}");
    }

    [Fact]
    public void Up_directory_gives_config_endpoints_pki_store_and_the_app_settings()
    {
        string dir = Path.Combine(_pki.Dir, "up");
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        Directory.CreateDirectory(Path.Combine(dir, "certs"));
        foreach (string name in new[] { "ca.crt", "client.crt", "client.key" })
        {
            File.Copy(Path.Combine(_pki.Dir, name), Path.Combine(dir, "certs", name));
        }

        File.WriteAllText(Path.Combine(dir, "collector.yaml"),
            "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: 127.0.0.1:14317\n      http:\n        endpoint: 0.0.0.0:14318\n");

        var plan = new EvidencePlan();
        plan.AddUpDirectory(dir, new Dictionary<string, string>(), TimeSpan.FromSeconds(3));

        Assert.Equal([Path.Combine(dir, "collector.yaml")], plan.Configs);
        Assert.Equal([Path.Combine(dir, "data")], plan.DataStores);
        Assert.Equal(["127.0.0.1:14317 grpc", "127.0.0.1:14318 http"], plan.Endpoints.Select(e => $"{e.Target.Authority} {(e.Target.Grpc ? "grpc" : "http")}"));
        Assert.All(plan.Endpoints, e => Assert.Equal(Path.Combine(dir, "certs", "client.crt"), e.CertFile));
        Assert.Equal("https://localhost:14318", plan.Environment!["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        Assert.StartsWith("the app settings `traceseal up --dir ", plan.EnvironmentSource, StringComparison.Ordinal);

        var withEnv = new EvidencePlan();
        withEnv.AddUpDirectory(dir, new Dictionary<string, string> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://x:4318" }, TimeSpan.FromSeconds(3));
        Assert.Equal("the current environment", withEnv.EnvironmentSource);
    }

    private async Task<(EvidenceReport.Written Written, IReadOnlyList<EvidenceRun> Runs)> WriteReportAsync()
    {
        await using var server = await TestServer.StartAsync(ServerMode.MutualTls, _pki.Server, _pki.Ca);
        string config = Path.Combine(_pki.Dir, "seed1.yaml");
        File.WriteAllText(config, File.ReadAllText(Path.Combine(ConfigCorpusTests.CorpusDir, "01-seed1-receiver.yaml")));
        string store = Path.Combine(_pki.Dir, "store");
        Directory.CreateDirectory(store);
        File.SetUnixFileMode(store, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var plan = new EvidencePlan();
        plan.Configs.Add(config);
        plan.Endpoints.Add(new EndpointOptions(EndpointTarget.Parse($"127.0.0.1:{server.Port}"))
        {
            CaFile = _pki.CaFile, CertFile = _pki.ClientCertFile, KeyFile = _pki.ClientKeyFile, Timeout = TimeSpan.FromSeconds(15),
        });
        plan.Environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"https://127.0.0.1:{server.Port}",
            ["OTEL_EXPORTER_OTLP_CERTIFICATE"] = _pki.CaFile,
            ["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"] = _pki.ClientCertFile,
            ["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = _pki.ClientKeyFile,
            ["OTEL_EXPORTER_OTLP_INSECURE"] = "false",
        };
        plan.EnvironmentSource = "test app settings";
        plan.DataStores.Add(store);

        var runs = await EvidenceRunner.RunAsync(plan, VerifyCommand.CollectorLoader, default);
        var context = EvidenceContext.Current("traceseal verify report (test)");
        return (EvidenceReport.Write(Path.Combine(_pki.Dir, "report"), context, runs), runs);
    }

    [GeneratedRegex("<code id=\"json-sha256\">([0-9a-f]{64})</code>")]
    private static partial Regex ShownHash();
}
