using System.Diagnostics;

namespace TraceSeal.Verify.Tests.Support;

/// <summary>
/// Debian's headless Chromium as a child process, with bounded timeouts: a PNG screenshot of a page and its DOM
/// after parsing. A missing chromium is a test failure, not a skip: CI installs it (.ci/run).
/// </summary>
internal static class Chromium
{
    public const string InstallHint = "install chromium (apt-get install -y chromium)";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    public static string Find()
    {
        foreach (string name in new[] { "chromium", "chromium-browser", "google-chrome" })
        {
            foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(Path.PathSeparator))
            {
                string candidate = Path.Combine(dir, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new InvalidOperationException($"no chromium on PATH; {InstallHint}");
    }

    public static Task<string> ScreenshotAsync(string html, string png) =>
        RunAsync(html, $"--screenshot={png}", "--window-size=1280,2200", "--hide-scrollbars");

    public static Task<string> DumpDomAsync(string html) => RunAsync(html, "--dump-dom");

    private static async Task<string> RunAsync(string html, params string[] args)
    {
        string profile = Directory.CreateTempSubdirectory("traceseal-chromium-").FullName;
        var start = new ProcessStartInfo(Find())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", $"--user-data-dir={profile}" })
        {
            start.ArgumentList.Add(arg);
        }

        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.ArgumentList.Add(new Uri(Path.GetFullPath(html)).AbsoluteUri);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("chromium did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"chromium did not finish within {Timeout.TotalSeconds:0} s: {await stderr}");
        }
        finally
        {
            try
            {
                Directory.Delete(profile, recursive: true);
            }
            catch (IOException)
            {
                // chromium's helpers may still hold the profile for a moment; it is a temp directory
            }
        }

        Assert.True(process.ExitCode == 0, $"chromium exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
