namespace TraceSeal.Collector.Tests.Config;

/// <summary>Exporters, processors, service and value errors: one cause, one exact message and position each.</summary>
public sealed class PipelineConfigErrorTests : IDisposable
{
    // A valid receiver, placed first so the lines under test follow it at known numbers (line 7 onwards).
    private const string Receiver = """
        receivers:
          otlp:
            protocols:
              grpc:
                allow_plaintext: true


        """;

    private readonly ConfigFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public void DebugExporter_PrintingContents_IsRefusedWithoutTheOptIn()
    {
        var errors = _f.Errors(Receiver + """
            exporters:
              debug:
                verbosity: detailed
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [debug]
            """);

        Assert.Equal([_f.At(9, 16, "exporters::debug::verbosity: detailed writes telemetry contents (attributes such as user ids, queries, tokens) to the collector's output in plaintext; " +
            "use basic (counts only), or set allow_plaintext: true to opt in explicitly (verify config reports it)")], errors);
    }

    [Fact]
    public void IdentityKeyInRecipients_IsRefused()
    {
        var errors = _f.Errors(Receiver + """
            exporters:
              sealed_store:
                directory: data
                recipients:
                  - keys/ops.recipient.pem
                  - keys/ops.identity.pem
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [sealed_store]
            """);

        Assert.Equal([_f.At(12, 9, $"exporters::sealed_store::recipients[1]: {_f.Path("keys/ops.identity.pem")} holds a private identity key; " +
            "a collector must only hold recipient (public) keys")], errors);
    }

    [Fact]
    public void MemoryLimiterNotFirst_IsRefused()
    {
        var errors = _f.Errors(Receiver + """
            processors:
              batch:
              memory_limiter:
                check_interval: 1s
                limit_mib: 512
            exporters:
              discard:
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  processors: [batch, memory_limiter]
                  exporters: [discard]
            """);

        Assert.Equal([_f.At(18, 27, "service::pipelines::traces::processors: memory_limiter must be the first processor so it refuses " +
            "data before other processors hold it; move \"memory_limiter\" to the front")], errors);
    }

    [Fact]
    public void PipelineReferencingUndefinedExporter_IsRefused()
    {
        var errors = _f.Errors(Receiver + """
            exporters:
              discard:
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters:
                    - discard
                    - otlp/backup
            """);

        Assert.Equal([_f.At(15, 11, "service::pipelines::traces::exporters: exporter \"otlp/backup\" is not defined; " +
            "define it under exporters or remove it from this pipeline")], errors);
    }

    [Fact]
    public void UnsetEnvironmentVariable_IsAnErrorNotAnEmptyValue()
    {
        var errors = _f.Errors(Receiver + """
            exporters:
              otlp:
                endpoint: ${env:UPSTREAM_ENDPOINT}
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [otlp]
            """);

        Assert.Equal([_f.At(9, 15, "exporters::otlp::endpoint: environment variable \"UPSTREAM_ENDPOINT\" is not set; " +
            "set it or give a default as ${env:UPSTREAM_ENDPOINT:-value} (TraceSeal does not expand unset variables to empty)")], errors);
    }

    [Fact]
    public void BadDuration_SaysWhatADurationLooksLike()
    {
        var errors = _f.Errors(Receiver + """
            processors:
              batch:
                timeout: 5 seconds
            exporters:
              discard:
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  processors: [batch]
                  exporters: [discard]
            """);

        Assert.Equal([_f.At(9, 14, "processors::batch::timeout: invalid duration \"5 seconds\"; use a Go duration such as 30s, 5m or 1h")], errors);
    }

    [Fact]
    public void Extensions_OtherThanHealthCheck_AreRefusedWithTheirReason_AndAnEmptySectionLoads()
    {
        var service = """
            exporters:
              discard:
            service:
              extensions: [pprof, health_check]
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [discard]
            """;

        Assert.Equal(
            [
                _f.At(8, 3, "extensions::pprof: pprof serves the process's memory and CPU profiles over plain HTTP, and memory holds telemetry in flight; profile with dotnet-trace or dotnet-counters on the host instead (supported: health_check)"),
                _f.At(12, 23, "service::extensions: extension \"health_check\" is not defined; define it under extensions (supported: health_check) or remove it"),
            ],
            _f.Errors(Receiver + "extensions:\n  pprof:\n" + service));

        var config = _f.Parse(Receiver + "extensions: {}\n" + service.Replace("[pprof, health_check]", "[]", StringComparison.Ordinal));
        Assert.Single(config.Pipelines);
        Assert.Empty(config.Extensions);
    }

    [Fact]
    public void ExporterTlsOptOuts_AreRefusedOrWarned()
    {
        var errors = _f.Errors(Receiver + """
            exporters:
              otlp:
                endpoint: collector.internal:4317
                tls:
                  insecure: true
                  insecure_skip_verify: true
                sending_queue:
                  storage: file_storage
              otlphttp:
                endpoint: http://collector.internal:4318
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [otlp, otlphttp]
            """);

        Assert.Equal(
            [
                _f.At(11, 17, "exporters::otlp::tls::insecure: true sends telemetry in plaintext and is only allowed with an explicit http:// endpoint; remove it to use TLS"),
                _f.At(12, 29, "exporters::otlp::tls::insecure_skip_verify: true would accept any server certificate, so anyone on the path can read the data; set ca_file to the upstream's CA instead"),
                _f.At(14, 7, "exporters::otlp::sending_queue::storage: a persistent queue (file_storage) keeps telemetry in plaintext at rest; remove storage and set directory and queue_key_file: TraceSeal's sending queue is sealed on disk"),
                _f.At(16, 15, "exporters::otlphttp::endpoint: http:// sends telemetry in plaintext; use https://, or set tls::insecure: true to opt out explicitly"),
            ],
            errors);
    }

    [Fact]
    public void UnusedComponent_LoadsWithAWarning()
    {
        var config = _f.Parse(Receiver + """
            processors:
              batch:
            exporters:
              discard:
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [discard]
            """);

        Assert.Equal(
            [_f.At(5, 9, "receivers::otlp::protocols::grpc::allow_plaintext: plaintext opt-out: localhost:4317 accepts unencrypted, unauthenticated telemetry; add tls to close it"),
             _f.At(8, 3, "processors::batch: defined but not used in any pipeline; it will not start")],
            config.Warnings.Select(w => w.ToString()));
    }

    [Fact]
    public void SyntaxError_PointsAtTheLine()
    {
        var error = Assert.Single(_f.Errors("receivers:\n  otlp: a: b\n"));
        Assert.StartsWith(_f.At(2, 10, "(yaml): syntax error: "), error);

        // YamlDotNet gives no position for an unclosed flow sequence; the last parsed token is the best we have.
        Assert.Equal(
            [_f.At(2, 9, "(yaml): syntax error: the document cannot be parsed after this point; check for an unclosed [ or {")],
            _f.Errors("receivers:\n  otlp: [unclosed\nservice:\n"));

        Assert.Equal(
            [_f.At(5, 7, "(yaml): duplicate key \"grpc\"; keep one (YAML does not merge them)")],
            _f.Errors("receivers:\n  otlp:\n    protocols:\n      grpc:\n      grpc:\n"));
    }

    [Fact]
    public void SeveralErrors_AreReportedTogetherInFileOrder()
    {
        var ex = Assert.Throws<TraceSeal.Collector.Config.ConfigException>(() => _f.Parse("""
            receivers:
              otlp:
                protocols:
                  http:
                    endpoint: 0.0.0.0:4318
                  grpc:
                    tls:
                      cert_file: server.crt
                      key_file: server.key
                      reload_interval: 10 minutes
            processors:
              memory_limiter:
                limit_mib: 512
            exporters:
              logging:
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  processors: [memory_limiter]
                  exporters: [logging, sealed_store]
            """));

        string[] expected =
        [
            _f.At(4, 7, "receivers::otlp::protocols::http: no tls block: this receiver would accept plaintext; add tls (cert_file, key_file, client_ca_file) or set allow_plaintext: true to opt out explicitly"),
            _f.At(10, 28, "receivers::otlp::protocols::grpc::tls::reload_interval: invalid duration \"10 minutes\"; use a Go duration such as 30s, 5m or 1h"),
            _f.At(12, 3, "processors::memory_limiter::check_interval: required: how often memory is checked, e.g. 1s"),
            _f.At(15, 3, "exporters::logging: the logging exporter writes telemetry in plaintext and was removed upstream; TraceSeal does not provide it: use debug (verbosity: basic logs counts only) (supported: discard, sealed_store, otlp, otlphttp, debug, nop)"),
            _f.At(21, 28, "service::pipelines::traces::exporters: exporter \"sealed_store\" is not defined; define it under exporters or remove it from this pipeline"),
        ];
        Assert.Equal(expected, ex.Errors.Select(e => e.ToString()));
        Assert.Equal(string.Join('\n', expected), ex.Message);
    }
}
