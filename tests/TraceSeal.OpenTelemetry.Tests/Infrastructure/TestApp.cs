using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace TraceSeal.OpenTelemetry.Tests.Infrastructure;

/// <summary>
/// An app configured like production: only OTEL_EXPORTER_OTLP_* keys, given as an injected IConfiguration
/// (the process environment is never touched, so tests cannot leak settings into each other).
/// </summary>
internal sealed class TestApp : IDisposable
{
    public const string ServiceName = "traceseal-sdk-test-service";

    private readonly TracerProvider _provider;
    private readonly ActivitySource _source;

    private TestApp(TracerProvider provider, ActivitySource source, LogCapture logs)
    {
        _provider = provider;
        _source = source;
        Logs = logs;
    }

    public LogCapture Logs { get; }

    public static Dictionary<string, string?> MutualTls(TestPki pki, string endpoint, string protocol) => new()
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol,
        ["OTEL_EXPORTER_OTLP_CERTIFICATE"] = pki.CaCertificate,
        ["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"] = pki.ClientCertificate,
        ["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = pki.ClientKey,
        ["OTEL_EXPORTER_OTLP_TIMEOUT"] = "5000",
    };

    /// <summary>Builds the provider (this is where configuration errors throw).</summary>
    public static TestApp Start(IDictionary<string, string?> environment, Action<SecureOtlpOptions>? configure = null)
    {
        var logs = new LogCapture();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(environment).Build();
        string sourceName = "TraceSeal.OpenTelemetry.Tests." + Guid.NewGuid().ToString("N")[..8];
        TracerProvider provider = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService(ServiceName))
            .AddSource(sourceName)
            .AddSecureOtlpExporter(o =>
            {
                o.Configuration = configuration;
                o.LoggerFactory = logs;
                o.ScheduledDelay = TimeSpan.FromMilliseconds(100);
                o.InitialRetryBackoff = TimeSpan.FromMilliseconds(100);
                o.MaxRetryBackoff = TimeSpan.FromMilliseconds(500);
                configure?.Invoke(o);
            })
            .Build();
        return new TestApp(provider, new ActivitySource(sourceName), logs);
    }

    /// <summary>Creates spans and flushes; true when the flush completed (the exporter's result is in the logs and the receiver).</summary>
    public bool Export(int spans, string name = "span")
    {
        for (int i = 0; i < spans; i++)
        {
            using Activity? activity = _source.StartActivity(name + "-" + i);
            activity?.SetTag("traceseal.test.index", i);
        }

        return _provider.ForceFlush(30_000);
    }

    public void Dispose()
    {
        _provider.Dispose();
        _source.Dispose();
    }
}
