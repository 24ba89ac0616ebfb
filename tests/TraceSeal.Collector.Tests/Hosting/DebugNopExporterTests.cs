using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Exporters.Debug;
using TraceSeal.Collector.Exporters.Nop;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.Hosting;

/// <summary>debug and nop: what they write (and do not write), sampling, and that both always accept.</summary>
public sealed class DebugNopExporterTests
{
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public async Task Basic_writes_one_line_of_counts_and_nothing_of_the_telemetry()
    {
        var output = new StringWriter();
        var debug = Debug(DebugVerbosity.Basic, output);

        var result = await debug.ExportAsync(Batch(OtlpSignal.Traces, OtlpTestData.Traces(3), 3), CancellationToken.None);

        Assert.True(result.Accepted);
        Assert.Equal(
            "TracesExporter {\"kind\": \"exporter\", \"data_type\": \"traces\", \"name\": \"debug\", \"resource spans\": 1, \"spans\": 3}" + Environment.NewLine,
            output.ToString());
        Assert.DoesNotContain("checkout", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Basic_counts_metrics_and_logs_in_upstreams_words()
    {
        var output = new StringWriter();
        var debug = Debug(DebugVerbosity.Basic, output, initial: 10);

        await debug.ExportAsync(Batch(OtlpSignal.Metrics, OtlpTestData.Metrics(4), 4), CancellationToken.None);
        await debug.ExportAsync(Batch(OtlpSignal.Logs, OtlpTestData.Logs(2), 2), CancellationToken.None);

        Assert.Equal(
            [
                "MetricsExporter {\"kind\": \"exporter\", \"data_type\": \"metrics\", \"name\": \"debug\", \"resource metrics\": 1, \"data points\": 4}",
                "LogsExporter {\"kind\": \"exporter\", \"data_type\": \"logs\", \"name\": \"debug\", \"resource logs\": 1, \"log records\": 2}",
            ],
            output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Normal_writes_one_line_per_span_and_detailed_the_otlp_json()
    {
        var normal = new StringWriter();
        await Debug(DebugVerbosity.Normal, normal).ExportAsync(Batch(OtlpSignal.Traces, OtlpTestData.Traces(2), 2), CancellationToken.None);
        var detailed = new StringWriter();
        await Debug(DebugVerbosity.Detailed, detailed).ExportAsync(Batch(OtlpSignal.Traces, OtlpTestData.Traces(1), 1), CancellationToken.None);

        string[] lines = normal.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("GET /checkout 01000000000000000000000000000", lines[1], StringComparison.Ordinal);
        Assert.Contains("\"resourceSpans\"", detailed.ToString(), StringComparison.Ordinal);
        Assert.Contains("\"name\":\"GET /checkout\"", detailed.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sampling_logs_the_first_n_each_second_then_every_mth_as_upstreams_zap_sampler()
    {
        var output = new StringWriter();
        var debug = Debug(DebugVerbosity.Basic, output, initial: 2, thereafter: 3);

        for (int i = 0; i < 8; i++)
        {
            await debug.ExportAsync(Batch(OtlpSignal.Logs, OtlpTestData.Logs(1), 1), CancellationToken.None);
        }

        Assert.Equal(4, debug.Written); // 1, 2, then 5 and 8
        _time.Advance(TimeSpan.FromSeconds(1));
        await debug.ExportAsync(Batch(OtlpSignal.Logs, OtlpTestData.Logs(1), 1), CancellationToken.None);
        Assert.Equal(5, debug.Written); // a new second starts over
    }

    [Fact]
    public async Task The_internal_logger_gets_the_line_when_use_internal_logger_is_true()
    {
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var debug = new DebugExporter("debug/x", new DebugExporterSettings { Name = "debug/x" }, factory.CreateLogger("test"), TextWriter.Null, _time);

        await debug.ExportAsync(Batch(OtlpSignal.Traces, OtlpTestData.Traces(1), 1), CancellationToken.None);

        Assert.Contains(logs.Messages, m => m.Text.Contains("\"name\": \"debug/x\", \"resource spans\": 1, \"spans\": 1}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Nop_accepts_everything_and_keeps_nothing()
    {
        await using var nop = new NopExporter("nop");
        Assert.True((await nop.ExportAsync(Batch(OtlpSignal.Traces, OtlpTestData.Traces(5), 5), CancellationToken.None)).Accepted);
    }

    private DebugExporter Debug(DebugVerbosity verbosity, TextWriter output, int initial = 2, int thereafter = 1) => new(
        "debug",
        new DebugExporterSettings { Name = "debug", Verbosity = verbosity, UseInternalLogger = false, SamplingInitial = initial, SamplingThereafter = thereafter, AllowPlaintext = verbosity != DebugVerbosity.Basic },
        Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
        output,
        _time);

    private static ReceivedBatch Batch(OtlpSignal signal, byte[] payload, int items) => new()
    {
        Signal = signal,
        Payload = payload,
        ItemCount = items,
        Tenant = "default",
        Identity = "cn:test",
        Receiver = "otlp",
    };
}
