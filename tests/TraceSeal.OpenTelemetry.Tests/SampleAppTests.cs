using System.Diagnostics;
using TraceSeal.OpenTelemetry.Tests.Infrastructure;

namespace TraceSeal.OpenTelemetry.Tests;

/// <summary>
/// The sample app as a child process with a clean environment: only the OTEL_EXPORTER_OTLP_* lines `traceseal up`
/// prints. SSL_CERT_FILE plays "the system trust store" (OpenSSL, and so .NET on Linux, reads it), which shows
/// that the configured CA is pinned: the same server certificate the system trusts is refused once a CA is set.
/// </summary>
[Collection(SdkCollection.Name)]
public sealed class SampleAppTests(TestPki pki)
{
    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task The_sample_exports_over_mutual_tls_with_only_the_printed_variables(string protocol)
    {
        await using var receiver = await Receiver.StartAsync(pki);
        (int exit, string output) = await RunSampleAsync(TestApp.MutualTls(pki, receiver.Url(protocol), protocol), 7);

        Assert.True(exit == 0, output);
        Assert.Contains("spans=7 exported=7 dropped=0", output, StringComparison.Ordinal);
        Assert.Equal(7, receiver.Spans);
    }

    [Fact]
    public async Task A_server_the_system_store_trusts_is_refused_when_a_different_CA_is_configured()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // SSL_CERT_FILE is OpenSSL's; elsewhere the system store cannot be simulated per process.
        }

        await using var receiver = await Receiver.StartAsync(pki, pki.OtherServerCertificate, pki.OtherServerKey);
        var env = TestApp.MutualTls(pki, receiver.HttpUrl, "http/protobuf");
        env["SSL_CERT_FILE"] = pki.OtherCaCertificate;

        // Control: without OTEL_EXPORTER_OTLP_CERTIFICATE the system store decides, and it trusts this server.
        var systemOnly = new Dictionary<string, string?>(env);
        systemOnly.Remove("OTEL_EXPORTER_OTLP_CERTIFICATE");
        (int controlExit, string controlOutput) = await RunSampleAsync(systemOnly, 3);
        Assert.True(controlExit == 0, controlOutput);
        Assert.Equal(3, receiver.Spans);

        // With the CA configured, the system store is never consulted: refused, nothing more arrives.
        (int exit, string output) = await RunSampleAsync(env, 3);
        Assert.Equal(1, exit);
        Assert.Contains("spans=3 exported=0 dropped=3", output, StringComparison.Ordinal);
        Assert.Equal(3, receiver.Spans);
    }

    private static async Task<(int Exit, string Output)> RunSampleAsync(IDictionary<string, string?> environment, int spans)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "SecureExportApp", "SecureExportApp.dll");
        var start = new ProcessStartInfo(DotnetHost(), [dll, spans.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment.Clear();
        foreach (string keep in new[] { "PATH", "HOME", "DOTNET_ROOT", "TMPDIR" })
        {
            if (Environment.GetEnvironmentVariable(keep) is { } value)
            {
                start.Environment[keep] = value;
            }
        }

        foreach ((string key, string? value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static string DotnetHost() =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
}
