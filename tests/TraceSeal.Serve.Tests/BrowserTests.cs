using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using TraceSeal.Serve.Tests.TestSupport;

namespace TraceSeal.Serve.Tests;

/// <summary>
/// The web UI in a real browser: Debian's chromium driven by chromium-driver (both installed by .ci/run). A newcomer
/// opens the login URL, searches, opens the trace, sees which span failed and why. The screenshot is kept as a test
/// artifact (TestResults/artifacts/trace-view.png, or $TRACESEAL_ARTIFACTS).
/// </summary>
public sealed class BrowserTests(ServeFixture f) : IClassFixture<ServeFixture>
{
    private const string Chromium = "/usr/bin/chromium";
    private const string Driver = "/usr/bin/chromedriver";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [SkippableBrowserFact]
    public void search_open_the_failing_trace_and_read_why_it_failed()
    {
        using var driver = Start();
        var wait = new WebDriverWait(driver, Wait);

        // The login link sets the cookie and lands on the deep link /search?service=cart.
        driver.Navigate().GoToUrl(f.Host.LoginUrl + "&next=" + Uri.EscapeDataString("/search?service=cart"));
        var row = wait.Until(d => d.FindElements(By.CssSelector("#results tbody tr")).FirstOrDefault(r => r.Displayed));
        Assert.Equal(ServeData.FailingTraceHex, row!.GetAttribute("data-trace-id"));
        Assert.Contains("GET /checkout", row.Text);
        Assert.Equal("1", row.FindElement(By.CssSelector("td:last-child .badge.err")).Text);

        // Errors only over every service finds the same trace and nothing else.
        driver.Navigate().GoToUrl(f.Host.BaseUrl + "/search?errors=true");
        wait.Until(d => d.FindElements(By.CssSelector("#results tbody tr")).Count == 1 && d.FindElement(By.Id("f-errors")).Selected);

        // Open it: three span rows in the waterfall, the failing one marked.
        driver.FindElement(By.CssSelector("#results tbody tr")).Click();
        wait.Until(d => d.Url.EndsWith("/trace/" + ServeData.FailingTraceHex, StringComparison.Ordinal));
        var rows = wait.Until(d => d.FindElements(By.CssSelector("#wf-rows .wf-row")) is { Count: 3 } r ? r : null)!;
        Assert.Equal(["GET /checkout", "POST /cart", "POST /cart"], rows.Select(r => r.FindElement(By.CssSelector(".wf-name")).Text));
        var failing = rows.Single(r => r.GetAttribute("class")!.Contains("error", StringComparison.Ordinal));
        Assert.Equal(Convert.ToHexStringLower(ServeData.SpanId(3)), failing.GetAttribute("data-span-id"));
        Assert.True(failing.FindElement(By.CssSelector(".wf-err")).Displayed);
        Assert.Equal("cart", failing.FindElement(By.CssSelector(".wf-service")).Text);

        // Its details: kind, status and message, an attribute, the exception event, the resource.
        failing.Click();
        var details = wait.Until(d => d.FindElement(By.Id("details")) is { Displayed: true } e ? e : null)!;
        Assert.Contains("server", details.Text);
        Assert.Contains("error: inventory unavailable", details.Text);
        var attributes = details.FindElements(By.CssSelector("table tr")).Select(r => r.Text).ToList();
        Assert.Contains("http.status_code 500", attributes);
        Assert.Contains("exception.message item 42 out of stock", attributes);
        Assert.Contains("deployment.environment test", attributes);

        // Collapsing the root hides its descendants.
        rows[0].FindElement(By.CssSelector(".wf-toggle")).Click();
        wait.Until(d => d.FindElements(By.CssSelector("#wf-rows .wf-row")).Count == 1);
        driver.FindElement(By.CssSelector("#wf-rows .wf-row .wf-toggle")).Click();
        wait.Until(d => d.FindElements(By.CssSelector("#wf-rows .wf-row")).Count == 3);
        wait.Until(d => d.FindElements(By.CssSelector("#wf-rows .wf-row.error")).Count == 1);
        driver.FindElement(By.CssSelector("#wf-rows .wf-row.error")).Click();
        wait.Until(d => d.FindElement(By.Id("details")).Displayed);
        Screenshot(driver, "trace-view.png");

        // The trace-id box opens a trace; the logs page finds the failure's log line and links to its trace.
        driver.Navigate().GoToUrl(f.Host.BaseUrl + "/logs");
        var box = wait.Until(d => d.FindElement(By.Id("trace-id-input")));
        driver.FindElement(By.Id("l-q")).SendKeys("out of stock");
        driver.FindElement(By.CssSelector("#logs-form button")).Click();
        var log = wait.Until(d => d.FindElements(By.CssSelector("#logs tbody tr")) is { Count: 1 } r && d.Url.Contains("q=", StringComparison.Ordinal) ? r[0] : null)!;
        Assert.Contains("checkout failed", log.Text);
        Screenshot(driver, "logs.png");
        box = driver.FindElement(By.Id("trace-id-input"));
        box.SendKeys(ServeData.FailingTraceHex);
        box.SendKeys(Keys.Enter);
        wait.Until(d => d.FindElements(By.CssSelector("#wf-rows .wf-row")).Count == 3);
    }

    [SkippableBrowserFact]
    public void a_deep_link_without_the_cookie_is_refused()
    {
        using var driver = Start();
        driver.Navigate().GoToUrl(f.Host.BaseUrl + "/trace/" + ServeData.FailingTraceHex);
        Assert.Contains("unauthenticated", driver.PageSource);
        Assert.Empty(driver.FindElements(By.CssSelector("#wf-rows .wf-row")));
    }

    private static ChromeDriver Start()
    {
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(Driver)!, Path.GetFileName(Driver));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = Chromium };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,800", "--user-data-dir=" + Directory.CreateTempSubdirectory("traceseal-chromium-").FullName);
        var driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        driver.Manage().Timeouts().PageLoad = Wait;
        driver.Manage().Timeouts().AsynchronousJavaScript = Wait;
        return driver;
    }

    private static void Screenshot(ChromeDriver driver, string name)
    {
        var dir = Environment.GetEnvironmentVariable("TRACESEAL_ARTIFACTS") ?? Path.Combine(AppContext.BaseDirectory, "TestResults", "artifacts");
        Directory.CreateDirectory(dir);
        driver.GetScreenshot().SaveAsFile(Path.Combine(dir, name));
    }
}

/// <summary>A browser test; skipped, with the reason, only when chromium or chromium-driver is not installed (.ci/run installs both).</summary>
public sealed class SkippableBrowserFactAttribute : FactAttribute
{
    public SkippableBrowserFactAttribute()
    {
        if (!File.Exists("/usr/bin/chromium") || !File.Exists("/usr/bin/chromedriver"))
        {
            Skip = "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run does this)";
        }
    }
}
