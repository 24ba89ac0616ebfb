using System.Reflection;

namespace TraceSeal.Interop.Tests.Infrastructure;

/// <summary>
/// Finds the external tools the interop tests drive. A missing tool fails the test with what to install;
/// nothing is skipped silently.
/// </summary>
internal static class Tools
{
    public const string NpmCiCommand = "npm ci --prefix tests/interop/js";

    /// <summary>tests/interop/js, recorded at build time (see the csproj).</summary>
    public static string JsDirectory { get; } =
        typeof(Tools).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "InteropJsDirectory").Value!;

    /// <summary>The sample app's output, copied next to the test assembly by the csproj.</summary>
    public static string OtlpSdkAppDll { get; } = Path.Combine(AppContext.BaseDirectory, "OtlpSdkApp", "OtlpSdkApp.dll");

    public static string Node => Find("node", "install Node.js 20+ (the JS interop tests run @opentelemetry exporters with it)");

    public static string OpenSsl => Find("openssl", "install openssl (apt-get install openssl)");

    public static string Curl => Find("curl", "install curl (apt-get install curl)");

    /// <summary>The dotnet host running these tests, so the sample app runs on the same runtime.</summary>
    public static string Dotnet
    {
        get
        {
            if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
            {
                return hostPath;
            }

            if (Environment.ProcessPath is { } processPath && Path.GetFileNameWithoutExtension(processPath) == "dotnet")
            {
                return processPath;
            }

            return Find("dotnet", "install the .NET 10 SDK");
        }
    }

    /// <summary>Fails (never skips) when `npm ci` has not been run for tests/interop/js.</summary>
    public static string RequireJsExporterScript()
    {
        var script = Path.Combine(JsDirectory, "export-spans.mjs");
        Assert.True(File.Exists(script), $"missing {script}");
        var exporters = new[] { "exporter-trace-otlp-grpc", "exporter-trace-otlp-proto", "exporter-trace-otlp-http", "sdk-trace-base" };
        foreach (var package in exporters)
        {
            var packageJson = Path.Combine(JsDirectory, "node_modules", "@opentelemetry", package, "package.json");
            Assert.True(
                File.Exists(packageJson),
                $"tests/interop/js/node_modules is not installed (missing @opentelemetry/{package}); run `{NpmCiCommand}` from the repository root before `dotnet test`");
        }

        return script;
    }

    public static string RequireOtlpSdkApp()
    {
        Assert.True(
            File.Exists(OtlpSdkAppDll),
            $"missing {OtlpSdkAppDll}: the csproj target CopyOtlpSdkAppOutput copies tests/interop/OtlpSdkApp's output there on build");
        return OtlpSdkAppDll;
    }

    private static string Find(string name, string howToInstall)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail($"`{name}` not found on PATH: {howToInstall}");
        return string.Empty;
    }
}
