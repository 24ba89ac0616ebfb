using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Debug;
using TraceSeal.Collector.Extensions.HealthCheck;

namespace TraceSeal.Collector.Tests.Config;

/// <summary>debug, nop and health_check as upstream spells them: defaults, opt-ins and one exact message per mistake.</summary>
public sealed class ComponentConfigTests : IDisposable
{
    private const string Receiver = """
        receivers:
          nop:
          otlp:
            protocols:
              grpc:
                allow_plaintext: true

        """;

    private readonly ConfigFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public void Debug_defaults_are_upstreams_and_basic_prints_counts_only()
    {
        var config = _f.Parse(Receiver + """
            exporters:
              debug:
            service:
              pipelines:
                traces:
                  receivers: [otlp, nop]
                  exporters: [debug]
            """);

        var debug = Assert.IsType<DebugExporterSettings>(config.Exporters["debug"]);
        Assert.Equal((DebugVerbosity.Basic, 2, 1, true, false), (debug.Verbosity, debug.SamplingInitial, debug.SamplingThereafter, debug.UseInternalLogger, debug.AllowPlaintext));
        Assert.Equal(["nop"], config.NopReceivers);
        Assert.DoesNotContain(config.Warnings, w => w.KeyPath.StartsWith("exporters::debug", StringComparison.Ordinal));
    }

    [Fact]
    public void Debug_normal_with_the_opt_in_loads_with_a_warning_at_every_start()
    {
        var config = _f.Parse(Receiver + """
            exporters:
              debug:
                verbosity: normal
                allow_plaintext: true
            service:
              pipelines:
                logs:
                  receivers: [otlp]
                  exporters: [debug]
            """);

        Assert.Equal(DebugVerbosity.Normal, Assert.IsType<DebugExporterSettings>(config.Exporters["debug"]).Verbosity);
        Assert.Contains(config.Warnings, w => w.ToString() == _f.At(9, 16,
            "exporters::debug::verbosity: plaintext opt-out: normal writes telemetry contents (attributes, log bodies) to the collector's output unencrypted; use basic to log counts only"));
    }

    [Fact]
    public void Nop_takes_no_keys()
    {
        Assert.Equal(
            [_f.At(9, 5, "exporters::nop: unknown key \"verbosity\" (supported: )")],
            _f.Errors(Receiver + """
                exporters:
                  nop:
                    verbosity: basic
                service:
                  pipelines:
                    traces:
                      receivers: [nop]
                      exporters: [nop]
                """));
    }

    [Fact]
    public void Health_check_defaults_to_loopback_13133_and_path_slash()
    {
        var config = _f.Parse(Receiver + """
            exporters:
              nop:
            extensions:
              health_check:
              health_check/probe:
                endpoint: 0.0.0.0:13134
                path: /health/status
                response_body:
                  healthy: I'm OK
                  unhealthy: I'm not well
            service:
              extensions: [health_check, health_check/probe]
              pipelines:
                traces:
                  receivers: [nop]
                  exporters: [nop]
            """);

        Assert.Collection(
            config.Extensions,
            h => Assert.Equal(("health_check", "localhost:13133", "/", (string?)null), (h.Name, h.Endpoint, h.Path, h.HealthyBody)),
            h => Assert.Equal(("health_check/probe", "0.0.0.0:13134", "/health/status", "I'm OK", "I'm not well"), (h.Name, h.Endpoint, h.Path, h.HealthyBody!, h.UnhealthyBody!)));
        Assert.Equal("localhost:13133", HealthCheckSettings.DefaultEndpoint);
    }

    [Fact]
    public void An_extension_not_listed_in_service_extensions_is_a_warning_and_does_not_start()
    {
        var config = _f.Parse(Receiver + """
            exporters:
              nop:
            extensions:
              health_check:
            service:
              pipelines:
                traces:
                  receivers: [nop]
                  exporters: [nop]
            """);

        Assert.Empty(config.Extensions);
        Assert.Contains(config.Warnings, w => w.ToString() == _f.At(10, 3, "extensions::health_check: defined but not listed in service::extensions; it will not start"));
    }

    [Theory]
    [InlineData("endpoint: 13133", "extensions::health_check::endpoint: invalid endpoint \"13133\"; use host:port, e.g. localhost:13133")]
    [InlineData("path: health", "extensions::health_check::path: invalid path \"health\"; it starts with /, e.g. /health/status")]
    [InlineData("tls: {}", "extensions::health_check: unknown key \"tls\" (supported: endpoint, port, path, response_body, check_collector_pipeline)")]
    public void Health_check_mistakes_have_one_message_each(string line, string message)
    {
        var errors = _f.Errors(Receiver + $$"""
            exporters:
              nop:
            extensions:
              health_check:
                {{line}}
            service:
              extensions: [health_check]
              pipelines:
                traces:
                  receivers: [nop]
                  exporters: [nop]
            """);

        Assert.Single(errors);
        Assert.EndsWith(message, errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void File_and_logging_exporters_stay_refused_with_what_to_use_instead()
    {
        var errors = _f.Errors(Receiver + """
            exporters:
              file:
                path: /tmp/spans.json
            service:
              pipelines:
                traces:
                  receivers: [nop]
                  exporters: [file]
            """);

        Assert.Equal([_f.At(8, 3, "exporters::file: the file exporter writes telemetry in plaintext; TraceSeal does not provide it: sealed_store writes it sealed (supported: discard, sealed_store, otlp, otlphttp, debug, nop)")], errors);
    }

    [Theory]
    [InlineData("1d", 1)]
    [InlineData("7d", 7)]
    [InlineData("1d12h", 1.5)]
    public void Durations_accept_days(string text, double days)
    {
        Assert.True(GoDuration.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromDays(days), value);
    }
}
