using System.Text;
using System.Text.Json;

namespace TraceSeal.Interop.Tests.Infrastructure;

/// <summary>What an interop client reported on its one JSON stdout line.</summary>
internal sealed record ClientRun(ProcessResult Process, string? RunId, string? Result)
{
    public byte[] RunIdBytes => Encoding.UTF8.GetBytes(RunId ?? throw new InvalidOperationException($"client printed no run id\n{Process}"));

    public static ClientRun Parse(ProcessResult process)
    {
        var line = process.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .LastOrDefault(l => l.StartsWith('{'));
        if (line is null)
        {
            return new ClientRun(process, null, null);
        }

        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        return new ClientRun(
            process,
            root.TryGetProperty("run", out var run) ? run.GetString() : null,
            root.TryGetProperty("result", out var result) ? result.GetString() : null);
    }
}

/// <summary>The mTLS files an SDK gets through the seeds' environment variables.</summary>
internal sealed record ClientTls(string CaFile, string? CertFile, string? KeyFile)
{
    public Dictionary<string, string> ToEnvironment(string endpoint)
    {
        var env = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
            ["OTEL_EXPORTER_OTLP_CERTIFICATE"] = CaFile,
        };
        if (CertFile is not null)
        {
            env["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"] = CertFile;
        }

        if (KeyFile is not null)
        {
            env["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = KeyFile;
        }

        return env;
    }
}

internal static class InteropClients
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);

    /// <summary>tests/interop/OtlpSdkApp: OpenTelemetry .NET 1.20.1, AddOtlpExporter() configured by environment only.</summary>
    public static async Task<ClientRun> RunDotnetSdkAsync(InteropPki pki, string endpoint, string protocol, ClientTls tls, int spans)
    {
        var app = Tools.RequireOtlpSdkApp();
        var env = tls.ToEnvironment(endpoint);
        env["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol;
        var process = await ChildProcess.RunAsync(Tools.Dotnet, [app, spans.ToString(System.Globalization.CultureInfo.InvariantCulture)], env, pki.NewWorkDirectory(), ClientTimeout);
        return ClientRun.Parse(process);
    }

    /// <summary>tests/interop/js/export-spans.mjs: the @opentelemetry/exporter-trace-otlp-{grpc,proto,http} exporters.</summary>
    public static async Task<ClientRun> RunJsAsync(InteropPki pki, string endpoint, string exporter, ClientTls tls, int spans, IReadOnlyDictionary<string, string>? extraEnvironment = null)
    {
        var script = Tools.RequireJsExporterScript();
        var env = tls.ToEnvironment(endpoint);
        foreach (var (name, value) in extraEnvironment ?? new Dictionary<string, string>())
        {
            env[name] = value;
        }

        var process = await ChildProcess.RunAsync(
            Tools.Node,
            [script, "--exporter", exporter, "--spans", spans.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            env,
            pki.NewWorkDirectory(),
            ClientTimeout);
        return ClientRun.Parse(process);
    }
}
