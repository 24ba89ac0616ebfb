using System.Net;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;
using static TraceSeal.Collector.Tests.Processors.TransformHarness;
using OtlpResource = OpenTelemetry.Proto.Resource.V1.Resource;
using SpanKind = OpenTelemetry.Proto.Trace.V1.Span.Types.SpanKind;

namespace TraceSeal.Collector.Tests.Processors;

/// <summary>
/// `attributes` with `include` / `exclude` (upstream's match properties) and `from_context` (the batch's identity and
/// tenant): which items the actions touch, on protobuf bytes and through a real receiver from OTLP/JSON.
/// </summary>
public sealed class AttributesMatchTests : IDisposable
{
    /// <summary>Appended to a processor block that ends with include / exclude (indented as TransformHarness.Config wants).</summary>
    private const string DeleteCard = "\n    actions:\n      - {key: credit_card, action: delete}";

    private readonly TransformHarness _h = new();

    public void Dispose() => _h.Dispose();

    /// <summary>upstream's testdata attributes/excludemulti, with its four spans and what it says happens to each.</summary>
    [Fact]
    public void exclude_with_services_and_attributes_leaves_only_the_spans_matching_all_of_them()
    {
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(Group("svcB", Span("s1", Attr("env", "dev"), Attr("test_request", 123), Attr("credit_card", "1234"))));
        request.ResourceSpans.Add(Group("svcA", Span("s2", Attr("env", "dev"), Attr("test_request", "false"), Attr("credit_card", "1234"))));
        request.ResourceSpans.Add(Group("svcB", Span("s3", Attr("env", 1), Attr("test_request", "dev"), Attr("credit_card", "1234"))));
        request.ResourceSpans.Add(Group("svcC", Span("s4", Attr("env", "dev"), Attr("test_request", "false"), Attr("credit_card", "1234"))));

        var result = _h.Traces("""
              attributes:
                exclude:
                  match_type: strict
                  services: ["svcA", "svcB"]
                  attributes:
                    - {key: env, value: "dev"}
                    - {key: test_request}
            """ + DeleteCard, request, "attributes");

        Assert.Equal([true, true, false, false], Spans(result).Select(HasCard));
    }

    [Fact]
    public void include_by_regexp_service_and_exclude_by_span_name_as_upstreams_regexp_example()
    {
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(Group("auth-api", Span("login.start", Attr("password", "hunter2")), Span("token.refresh", Attr("password", "hunter2"))));
        request.ResourceSpans.Add(Group("billing", Span("token.refresh", Attr("password", "hunter2"))));

        var result = _h.Traces("""
              attributes:
                include:
                  match_type: regexp
                  services: ["auth.*"]
                exclude:
                  match_type: regexp
                  span_names: ["login.*"]
                actions:
                  - {key: password, action: update, value: obfuscated}
            """, request, "attributes");

        Assert.Equal(["hunter2", "obfuscated", "hunter2"], Spans(result).Select(s => s.Attributes[0].Value.StringValue));
    }

    [Fact]
    public void span_kinds_resources_and_libraries_with_upstreams_version_rules()
    {
        var request = new ExportTraceServiceRequest();
        var resource = new OtlpResource { Attributes = { Attr("service.name", "db"), Attr("host.type", "n1-standard-1") } };
        request.ResourceSpans.Add(new ResourceSpans
        {
            Resource = resource,
            ScopeSpans =
            {
                Scope("mongo-java-driver", "3.8.0", Span("a", SpanKind.Client), Span("b", SpanKind.Server)),
                Scope("mongo-java-driver", "", Span("c", SpanKind.Client)),
                Scope("other", "3.8.0", Span("d", SpanKind.Client)),
            },
        });

        var result = _h.Traces("""
              attributes:
                include:
                  match_type: strict
                  span_kinds: [SPAN_KIND_CLIENT]
                  resources: [{key: host.type, value: n1-standard-1}]
                  libraries: [{name: mongo-java-driver, version: "3.8.0"}]
            """ + DeleteCard, request, "attributes");
        var blankVersion = _h.Traces("""
              attributes:
                include:
                  match_type: strict
                  libraries: [{name: mongo-java-driver, version: ""}]
            """ + DeleteCard, request, "attributes");
        var anyVersion = _h.Traces("""
              attributes:
                include:
                  match_type: strict
                  libraries: [{name: mongo-java-driver}]
            """ + DeleteCard, request, "attributes");

        Assert.Equal([false, true, true, true], Spans(result).Select(HasCard));
        Assert.Equal([true, true, false, true], Spans(blankVersion).Select(HasCard));
        Assert.Equal([false, false, false, true], Spans(anyVersion).Select(HasCard));
    }

    [Fact]
    public void strict_attribute_values_are_typed_and_regexp_ones_match_the_string_form()
    {
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(Group("svc",
            Span("bool", Attr("redact_trace", false)),
            Span("string", Attr("redact_trace", "false")),
            Span("int", Attr("http.status_code", 503)),
            Span("double", Attr("ratio", 0.5))));

        var strict = _h.Traces("""
              attributes:
                exclude:
                  match_type: strict
                  attributes: [{key: redact_trace, value: false}]
            """ + DeleteCard, request, "attributes");
        var regexp = _h.Traces("""
              attributes:
                include:
                  match_type: regexp
                  attributes: [{key: http.status_code, value: "^5[0-9][0-9]$"}]
            """ + DeleteCard, request, "attributes");
        var regexpDouble = _h.Traces("""
              attributes:
                include:
                  match_type: regexp
                  attributes: [{key: ratio, value: "^0\\.5$"}]
            """ + DeleteCard, request, "attributes");

        // Upstream's selectiveprocessing comment: a string "false" is not the bool false.
        Assert.Equal([true, false, false, false], Spans(strict).Select(HasCard));
        Assert.Equal([true, true, false, true], Spans(regexp).Select(HasCard));
        Assert.Equal([true, true, true, false], Spans(regexpDouble).Select(HasCard));
    }

    [Theory]
    [InlineData(1e21, "^1000000000000000000000$")]
    [InlineData(1e-7, "^0\\.0000001$")]
    [InlineData(0.1 + 0.2, "^0\\.30000000000000004$")]
    public void a_regexp_sees_a_double_as_gos_strconv_writes_it(double value, string pattern)
    {
        var result = _h.Traces($$"""
              attributes:
                include:
                  match_type: regexp
                  attributes: [{key: ratio, value: '{{pattern}}'}]
            """ + DeleteCard, Trace(Attr("ratio", value), Attr("credit_card", "1234")), "attributes");

        Assert.False(HasCard(OnlySpan(result)));
    }

    [Fact]
    public void log_records_match_by_body_severity_text_and_severity_number()
    {
        var request = new ExportLogsServiceRequest();
        request.ResourceLogs.Add(new ResourceLogs
        {
            Resource = new OtlpResource { Attributes = { Attr("service.name", "auth") } },
            ScopeLogs =
            {
                new ScopeLogs
                {
                    LogRecords =
                    {
                        Log("AUTH ok user=alice", "debug", SeverityNumber.Debug),
                        Log("AUTH failed", "WARN", SeverityNumber.Warn),
                        Log("cache miss", "ERROR", SeverityNumber.Error),
                        Log("no severity", "", SeverityNumber.Unspecified),
                    },
                },
            },
        });

        var bodies = _h.Logs("""
              attributes:
                include:
                  match_type: regexp
                  log_bodies: ["AUTH.*"]
            """ + DeleteCard, request, "attributes");
        var texts = _h.Logs("""
              attributes:
                include:
                  match_type: regexp
                  log_severity_texts: ["debug.*"]
            """ + DeleteCard, request, "attributes");
        var numbers = _h.Logs("""
              attributes:
                include:
                  match_type: strict
                  log_severity_number: {min: WARN, match_undefined: true}
            """ + DeleteCard, request, "attributes");

        Assert.Equal([false, false, true, true], LogCards(bodies));
        Assert.Equal([false, true, true, true], LogCards(texts));
        Assert.Equal([true, false, false, false], LogCards(numbers));
    }

    [Fact]
    public void metrics_match_by_metric_name_and_every_data_point_of_a_matching_metric_is_processed()
    {
        var request = new ExportMetricsServiceRequest();
        request.ResourceMetrics.Add(new ResourceMetrics
        {
            Resource = new OtlpResource { Attributes = { Attr("service.name", "checkout") } },
            ScopeMetrics = { new ScopeMetrics { Metrics = { GaugeOf("http.server.duration", 2), GaugeOf("orders", 1) } } },
        });

        var result = _h.Metrics("""
              attributes:
                exclude:
                  match_type: regexp
                  metric_names: ["^http\\."]
            """ + DeleteCard, request, "attributes");

        var metrics = result.ResourceMetrics[0].ScopeMetrics[0].Metrics;
        Assert.Equal([true, true, false], metrics.SelectMany(m => m.Gauge.DataPoints).Select(p => p.Attributes.Any(a => a.Key == "credit_card")));
    }

    [Fact]
    public void nothing_matching_include_keeps_the_received_bytes()
    {
        byte[] payload = Trace(Attr("credit_card", "1234")).ToByteArray();

        byte[] result = _h.Rewrite("""
              attributes:
                include:
                  match_type: strict
                  services: [billing]
            """ + DeleteCard, payload, OtlpSignal.Traces, "attributes");

        Assert.Same(payload, result);
    }

    [Fact]
    public void from_context_writes_the_batchs_identity_and_tenant()
    {
        var result = _h.Traces("""
              attributes:
                actions:
                  - {key: enduser.id, from_context: auth.identity, action: insert}
                  - {key: tenant_id, from_context: auth.tenant, default_value: none, action: upsert}
            """, Trace(Attr("enduser.id", "already-set")), "attributes");
        var resource = _h.Traces("""
              resource:
                attributes:
                  - {key: traceseal.tenant, from_context: auth.tenant, action: upsert}
            """, Trace(), "resource");

        Assert.Equal(["enduser.id=already-set", "tenant_id=default"], Show(OnlySpan(result).Attributes));
        Assert.Equal(["service.name=checkout", "host.name=web-1", "traceseal.tenant=default"], Show(resource.ResourceSpans[0].Resource.Attributes));
    }

    /// <summary>The client certificate's SPIFFE id reaches the action; include leaves the other service alone. OTLP/JSON over mutual TLS.</summary>
    [Fact]
    public async Task an_otlp_json_request_gets_the_client_identity_only_on_included_spans()
    {
        using var pki = new ReceiverTestPki();
        var exporter = new PipelineRewriteTests.CapturingExporter();
        var pipeline = new TelemetryPipeline("traces", OtlpSignal.Traces, _h.Processors("""
              attributes:
                include:
                  match_type: strict
                  services: [checkout]
                actions:
                  - {key: sent.by, from_context: auth.identity, action: upsert}
                  - {key: credit_card, action: delete}
            """, "attributes"), [exporter]);
        await using var harness = await ReceiverHarness.StartAsync(pki);
        harness.Sink.Behavior = (batch, ct) => pipeline.ProcessAsync(batch, ct);
        using var client = harness.CreateClient(pki.Client.Certificate);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(Group("checkout", Span("pay", Attr("credit_card", "4111"))));
        request.ResourceSpans.Add(Group("billing", Span("invoice", Attr("credit_card", "5500"))));
        byte[] json = OtlpTestData.Json(request.ToByteArray(), OtlpSignal.Traces);

        using var post = ReceiverHarness.HttpPost(harness.HttpUri("/v1/traces"), json, "application/json");
        using var response = await client.SendAsync(post);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stored = ExportTraceServiceRequest.Parser.ParseFrom(exporter.Copy);
        Assert.Equal(["sent.by=uri:" + ReceiverTestPki.ClientSpiffeId], Show(Spans(stored)[0].Attributes));
        Assert.Equal(["credit_card=5500"], Show(Spans(stored)[1].Attributes));
    }

    private static List<Span> Spans(ExportTraceServiceRequest r) => [.. r.ResourceSpans.SelectMany(rs => rs.ScopeSpans).SelectMany(ss => ss.Spans)];

    private static bool HasCard(Span span) => span.Attributes.Any(a => a.Key == "credit_card");

    private static bool[] LogCards(ExportLogsServiceRequest r) =>
        [.. r.ResourceLogs[0].ScopeLogs[0].LogRecords.Select(l => l.Attributes.Any(a => a.Key == "credit_card"))];

    private static KeyValue Attr(string key, bool value) => new() { Key = key, Value = new AnyValue { BoolValue = value } };

    private static KeyValue Attr(string key, double value) => new() { Key = key, Value = new AnyValue { DoubleValue = value } };

    private static KeyValue Attr(string key, string value) => TransformHarness.Attr(key, value);

    private static KeyValue Attr(string key, long value) => TransformHarness.Attr(key, value);

    private static ResourceSpans Group(string service, params Span[] spans) => new()
    {
        Resource = new OtlpResource { Attributes = { Attr("service.name", service) } },
        ScopeSpans = { new ScopeSpans { Scope = new InstrumentationScope { Name = "test" }, Spans = { spans } } },
    };

    private static ScopeSpans Scope(string name, string version, params Span[] spans) =>
        new() { Scope = new InstrumentationScope { Name = name, Version = version }, Spans = { spans } };

    private static Span Span(string name, params KeyValue[] attributes) => Span(name, SpanKind.Internal, attributes);

    private static Span Span(string name, SpanKind kind, params KeyValue[] attributes)
    {
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(Enumerable.Range(1, 16).Select(i => (byte)i).ToArray()),
            SpanId = ByteString.CopyFrom(Enumerable.Range(1, 8).Select(i => (byte)i).ToArray()),
            Name = name,
            Kind = kind,
            StartTimeUnixNano = 1_700_000_000_000_000_000UL,
            EndTimeUnixNano = 1_700_000_000_000_001_000UL,
        };
        span.Attributes.Add(attributes);
        if (!attributes.Any(a => a.Key == "credit_card"))
        {
            span.Attributes.Add(Attr("credit_card", "1234"));
        }

        return span;
    }

    private static LogRecord Log(string body, string severityText, SeverityNumber severity) => new()
    {
        TimeUnixNano = 1_700_000_000_000_000_000UL,
        Body = new AnyValue { StringValue = body },
        SeverityText = severityText,
        SeverityNumber = severity,
        Attributes = { Attr("credit_card", "1234") },
    };

    private static Metric GaugeOf(string name, int points)
    {
        var gauge = new Gauge();
        for (int i = 0; i < points; i++)
        {
            gauge.DataPoints.Add(new NumberDataPoint { TimeUnixNano = 1_700_000_000_000_000_000UL, AsInt = i, Attributes = { Attr("credit_card", "1234"), Attr("i", i) } });
        }

        return new Metric { Name = name, Gauge = gauge };
    }
}
