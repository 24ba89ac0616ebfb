using System.Buffers;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace TraceSeal.Otlp.Tests;

public class OtlpJsonTests
{
    // opentelemetry-proto examples/trace.json (the OTLP/JSON example linked from the spec): hex ids in
    // upper case, 64-bit times as strings, enum as integer.
    private const string SpecTraceExample = """
        {
          "resourceSpans": [
            {
              "resource": { "attributes": [ { "key": "service.name", "value": { "stringValue": "my.service" } } ] },
              "scopeSpans": [
                {
                  "scope": {
                    "name": "my.library",
                    "version": "1.0.0",
                    "attributes": [ { "key": "my.scope.attribute", "value": { "stringValue": "some scope attribute" } } ]
                  },
                  "spans": [
                    {
                      "traceId": "5B8EFFF798038103D269B633813FC60C",
                      "spanId": "EEE19B7EC3C1B174",
                      "parentSpanId": "EEE19B7EC3C1B173",
                      "name": "I'm a server span",
                      "startTimeUnixNano": "1544712660000000000",
                      "endTimeUnixNano": "1544712661000000000",
                      "kind": 2,
                      "attributes": [ { "key": "my.span.attr", "value": { "stringValue": "some value" } } ]
                    }
                  ]
                }
              ]
            }
          ]
        }
        """;

    private static ExportTraceServiceRequest SpecTraceExampleByHand() => new()
    {
        ResourceSpans =
        {
            new ResourceSpans
            {
                Resource = new Resource { Attributes = { TestRequests.Attr("service.name", "my.service") } },
                ScopeSpans =
                {
                    new ScopeSpans
                    {
                        Scope = new InstrumentationScope { Name = "my.library", Version = "1.0.0", Attributes = { TestRequests.Attr("my.scope.attribute", "some scope attribute") } },
                        Spans =
                        {
                            new Span
                            {
                                TraceId = ByteString.CopyFrom(Convert.FromHexString("5B8EFFF798038103D269B633813FC60C")),
                                SpanId = ByteString.CopyFrom(Convert.FromHexString("EEE19B7EC3C1B174")),
                                ParentSpanId = ByteString.CopyFrom(Convert.FromHexString("EEE19B7EC3C1B173")),
                                Name = "I'm a server span",
                                StartTimeUnixNano = 1544712660000000000,
                                EndTimeUnixNano = 1544712661000000000,
                                Kind = Span.Types.SpanKind.Server,
                                Attributes = { TestRequests.Attr("my.span.attr", "some value") },
                            },
                        },
                    },
                },
            },
        },
    };

    private static byte[] Transcode(string json, OtlpSignal signal = OtlpSignal.Traces)
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.True(OtlpJson.TryToProtobuf(System.Text.Encoding.UTF8.GetBytes(json), signal, output, out OtlpError error), error.Code + ": " + error.Message);
        return output.WrittenSpan.ToArray();
    }

    private static OtlpError Refuse(string json, OtlpSignal signal = OtlpSignal.Traces)
    {
        Assert.False(OtlpJson.TryToProtobuf(System.Text.Encoding.UTF8.GetBytes(json), signal, new ArrayBufferWriter<byte>(), out OtlpError error));
        return error;
    }

    private static Span OnlySpan(byte[] protobuf) => ExportTraceServiceRequest.Parser.ParseFrom(protobuf).ResourceSpans[0].ScopeSpans[0].Spans[0];

    [Fact]
    public void Spec_example_equals_the_request_built_by_hand()
    {
        byte[] bytes = Transcode(SpecTraceExample);

        Assert.Equal(SpecTraceExampleByHand(), ExportTraceServiceRequest.Parser.ParseFrom(bytes));
        Assert.Equal(SpecTraceExampleByHand().ToByteArray(), bytes);
        Assert.True(OtlpValidator.TryValidate(bytes, OtlpSignal.Traces, out OtlpSummary summary, out _));
        Assert.Equal(1, summary.ItemCount);
    }

    [Fact]
    public void Snake_case_names_and_numbers_as_numbers_are_accepted()
    {
        const string json = """
            {"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174",
              "start_time_unix_nano":1544712660000000000,"endTimeUnixNano":"1544712661000000000","kind":"SPAN_KIND_CLIENT","droppedAttributesCount":3}]}]}]}
            """;
        Span span = OnlySpan(Transcode(json));

        Assert.Equal(1544712660000000000UL, span.StartTimeUnixNano);
        Assert.Equal(1544712661000000000UL, span.EndTimeUnixNano);
        Assert.Equal(Span.Types.SpanKind.Client, span.Kind);
        Assert.Equal(3u, span.DroppedAttributesCount);
        Assert.Equal("5B8EFFF798038103D269B633813FC60C", Convert.ToHexString(span.TraceId.ToByteArray()));
    }

    [Fact]
    public void Enum_as_integer() => Assert.Equal(Span.Types.SpanKind.Consumer, OnlySpan(Transcode("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":5}]}]}]}""")).Kind);

    [Fact]
    public void Unknown_fields_are_ignored_whole()
    {
        const string json = """{"futureField":{"traceId":"nothex","nested":[1,{"a":null}]},"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"n","newThing":[true,false]}]}]}]}""";
        Assert.Equal("n", OnlySpan(Transcode(json)).Name);
    }

    [Fact]
    public void Null_means_absent()
    {
        Span span = OnlySpan(Transcode("""{"resourceSpans":[{"resource":null,"scopeSpans":[{"spans":[{"name":null,"status":null,"parentSpanId":null}]}]}]}"""));
        Assert.Equal(string.Empty, span.Name);
        Assert.Null(span.Status);
    }

    [Fact]
    public void Bytes_value_is_base64_not_hex()
    {
        Span span = OnlySpan(Transcode("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"b","value":{"bytesValue":"AQID"}}]}]}]}]}"""));
        Assert.Equal(new byte[] { 1, 2, 3 }, span.Attributes[0].Value.BytesValue.ToByteArray());
    }

    [Theory]
    [InlineData("{")]
    [InlineData("{\"resourceSpans\":[}")]
    [InlineData("[1,2")]
    [InlineData("{\"a\":1}garbage")]
    [InlineData("")]
    public void Malformed_json(string json) => Assert.Equal("invalid_json", Refuse(json).Code);

    [Theory]
    [InlineData("traceId", "5B8EFFF798038103D269B633813FC6", "bad_trace_id")] // 30 digits
    [InlineData("traceId", "5B8EFFF798038103D269B633813FC60CAA", "bad_trace_id")]
    [InlineData("traceId", "W4737/eYA4ED0mm2M4E/xg==", "bad_trace_id")] // base64, not hex
    [InlineData("spanId", "EEE19B7EC3C1B17G", "bad_span_id")]
    [InlineData("parentSpanId", "EEE1", "bad_span_id")]
    public void Bad_hex_ids(string field, string value, string code)
    {
        OtlpError error = Refuse($$"""{"resourceSpans":[{"scopeSpans":[{"spans":[{"{{field}}":"{{value}}"}]}]}]}""");
        Assert.Equal(code, error.Code);
        Assert.DoesNotContain(value, error.Message);
    }

    [Fact]
    public void Wrong_value_type_is_refused_without_echoing_it()
    {
        OtlpError error = Refuse("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"tomorrow"}]}]}]}""");
        Assert.Equal("invalid_value", error.Code);
        Assert.DoesNotContain("tomorrow", error.Message);
    }

    [Fact]
    public void Excessive_json_nesting()
    {
        string deep = new string('[', 1000) + new string(']', 1000);
        Assert.Equal("nesting_too_deep", Refuse($$"""{"unknown":{{deep}}}""").Code);
    }

    [Fact]
    public void Traces_round_trip_through_json_with_hex_ids()
    {
        var request = TestRequests.Traces(2);
        string json = OtlpJson.ToJson(request.ToByteArray(), OtlpSignal.Traces);

        Assert.Contains("\"traceId\":\"" + Convert.ToHexString(TestRequests.TraceId(0)).ToLowerInvariant() + "\"", json);
        Assert.Contains("\"kind\":2", json); // enums as integers
        Assert.Equal(request, ExportTraceServiceRequest.Parser.ParseFrom(Transcode(json)));
    }

    [Fact]
    public void Metrics_round_trip_through_json()
    {
        var request = TestRequests.Metrics();
        string json = OtlpJson.ToJson(request.ToByteArray(), OtlpSignal.Metrics);

        Assert.Contains("\"spanId\":\"" + Convert.ToHexString(TestRequests.SpanId(1)).ToLowerInvariant() + "\"", json); // exemplar
        Assert.Equal(request, ExportMetricsServiceRequest.Parser.ParseFrom(Transcode(json, OtlpSignal.Metrics)));
    }

    [Fact]
    public void Logs_round_trip_through_json()
    {
        var request = TestRequests.Logs();
        string json = OtlpJson.ToJson(request.ToByteArray(), OtlpSignal.Logs);

        Assert.Contains("\"traceId\":\"" + Convert.ToHexString(TestRequests.TraceId(2)).ToLowerInvariant() + "\"", json);
        Assert.Contains("\"severityNumber\":9", json);
        Assert.Equal(request, ExportLogsServiceRequest.Parser.ParseFrom(Transcode(json, OtlpSignal.Logs)));
    }

    // Found by bench/reliability/fuzz.sh: these used to throw InvalidOperationException (HTTP 500 at the receiver).
    [Theory]
    [InlineData("{\"resourceLogs\":[{\"scopeLogs\":\"\\uD800\"", OtlpSignal.Logs)]
    [InlineData("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"01000000000000008877665544332211\",\"spanId\":\"\\uD800\"}]}]}]}", OtlpSignal.Traces)]
    [InlineData("{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"k\",\"value\":{\"stringValue\":\"\\uDC00x\"}}]}}]}", OtlpSignal.Traces)]
    public void Lone_surrogates_are_invalid_input_not_exceptions(string json, OtlpSignal signal)
    {
        Assert.False(OtlpJson.TryToProtobuf(System.Text.Encoding.UTF8.GetBytes(json), signal, new ArrayBufferWriter<byte>(), out OtlpError error));
        Assert.False(string.IsNullOrEmpty(error.Code));
    }

    [Fact]
    public void Invalid_utf8_bytes_are_invalid_input_not_exceptions()
    {
        byte[] json = [.. "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\""u8, 0xC3, 0x28, .. "\"}]}]}]}"u8];

        Assert.False(OtlpJson.TryToProtobuf(json, OtlpSignal.Traces, new ArrayBufferWriter<byte>(), out OtlpError error));
        Assert.Equal("invalid_utf8", error.Code);
    }
}
