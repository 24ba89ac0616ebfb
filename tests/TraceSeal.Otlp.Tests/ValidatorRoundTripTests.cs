using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace TraceSeal.Otlp.Tests;

public class ValidatorRoundTripTests
{
    [Fact]
    public void Traces_count_spans_time_range_and_visit_in_order()
    {
        byte[] bytes = TestRequests.Traces(3).ToByteArray();
        var visitor = new RecordingVisitor();

        Assert.True(OtlpValidator.TryValidate(bytes, OtlpSignal.Traces, ref visitor, out OtlpSummary summary, out OtlpError error), error.Message);

        Assert.Equal(3, summary.ItemCount);
        Assert.Equal(TestRequests.BaseTime, summary.MinStartTimeUnixNano);
        Assert.Equal(TestRequests.BaseTime + 2500, summary.MaxEndTimeUnixNano);
        Assert.Equal(4, visitor.Events.Count);
        Assert.Equal("resource:checkout", visitor.Events[0]);
        Assert.Equal($"span:{Convert.ToHexString(TestRequests.TraceId(1))}:{Convert.ToHexString(TestRequests.SpanId(1))}:{TestRequests.BaseTime + 1000}:{TestRequests.BaseTime + 1500}:span-1", visitor.Events[2]);
    }

    [Fact]
    public void Resource_after_scope_spans_on_the_wire_is_still_reported_first()
    {
        var withoutResource = TestRequests.Traces(1);
        var resource = withoutResource.ResourceSpans[0].Resource;
        withoutResource.ResourceSpans[0].Resource = null;
        // Field 1 (resource) appended after field 2 (scope_spans) inside ResourceSpans: legal protobuf.
        byte[] resourceSpans = [.. withoutResource.ResourceSpans[0].ToByteArray(), 0x0A, .. Varint(resource.CalculateSize()), .. resource.ToByteArray()];
        byte[] request = [0x0A, .. Varint(resourceSpans.Length), .. resourceSpans];
        var visitor = new RecordingVisitor();

        Assert.True(OtlpValidator.TryValidate(request, OtlpSignal.Traces, ref visitor, out _, out OtlpError error), error.Message);

        Assert.Equal("resource:checkout", visitor.Events[0]);
        Assert.StartsWith("span:", visitor.Events[1]);
    }

    [Fact]
    public void Missing_service_name_is_reported_empty()
    {
        var request = TestRequests.Traces(1);
        request.ResourceSpans[0].Resource = null;
        var visitor = new RecordingVisitor();

        Assert.True(OtlpValidator.TryValidate(request.ToByteArray(), OtlpSignal.Traces, ref visitor, out _, out _));
        Assert.Equal("resource:", visitor.Events[0]);
    }

    [Fact]
    public void Empty_message_is_valid_with_no_items()
    {
        foreach (OtlpSignal signal in Enum.GetValues<OtlpSignal>())
        {
            Assert.True(OtlpValidator.TryValidate([], signal, out OtlpSummary summary, out _));
            Assert.Equal(0, summary.ItemCount);
            Assert.Equal(0UL, summary.MinStartTimeUnixNano);
        }
    }

    [Fact]
    public void Metrics_count_data_points_of_every_kind()
    {
        byte[] bytes = TestRequests.Metrics().ToByteArray();

        Assert.True(OtlpValidator.TryValidate(bytes, OtlpSignal.Metrics, out OtlpSummary summary, out OtlpError error), error.Message);

        Assert.Equal(6, summary.ItemCount); // gauge 1 + sum 2 + histogram 1 + exp histogram 1 + summary 1
        Assert.Equal(TestRequests.BaseTime - 10, summary.MinStartTimeUnixNano);
        Assert.Equal(TestRequests.BaseTime + 20, summary.MaxEndTimeUnixNano);
    }

    [Fact]
    public void Logs_count_records_and_use_observed_time_when_time_is_unset()
    {
        byte[] bytes = TestRequests.Logs().ToByteArray();

        Assert.True(OtlpValidator.TryValidate(bytes, OtlpSignal.Logs, out OtlpSummary summary, out OtlpError error), error.Message);

        Assert.Equal(2, summary.ItemCount);
        Assert.Equal(TestRequests.BaseTime, summary.MinStartTimeUnixNano);
        Assert.Equal(TestRequests.BaseTime + 5, summary.MaxEndTimeUnixNano);
    }

    [Fact]
    public void Unknown_fields_of_every_wire_type_are_skipped()
    {
        byte[] span = TestRequests.NewSpan(0).ToByteArray();
        // field 100 varint (overlong-but-legal 3 bytes), 101 fixed64, 102 LEN, 103 fixed32
        byte[] unknown = [0xA0, 0x06, 0x81, 0x80, 0x00, 0xA9, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0xB2, 0x06, 2, 0xFF, 0xFE, 0xBD, 0x06, 1, 2, 3, 4];
        byte[] request = Wrap([.. span, .. unknown]);

        Assert.True(OtlpValidator.TryValidate(request, OtlpSignal.Traces, out OtlpSummary summary, out OtlpError error), error.Message);
        Assert.Equal(1, summary.ItemCount);
    }

    [Fact]
    public void Root_span_with_empty_parent_and_links_with_ids_are_valid()
    {
        var span = TestRequests.NewSpan(0);
        span.ParentSpanId = ByteString.Empty;
        span.Links.Add(new Span.Types.Link { TraceId = ByteString.CopyFrom(TestRequests.TraceId(9)), SpanId = ByteString.CopyFrom(TestRequests.SpanId(9)) });
        span.Events.Add(new Span.Types.Event { Name = "e", TimeUnixNano = 5 });
        span.Status = new OpenTelemetry.Proto.Trace.V1.Status { Code = OpenTelemetry.Proto.Trace.V1.Status.Types.StatusCode.Error, Message = "boom" };

        Assert.True(OtlpValidator.TryValidate(TestRequests.RequestWith(span).ToByteArray(), OtlpSignal.Traces, out _, out OtlpError error), error.Message);
    }

    [Fact]
    public void AnyValue_nested_to_the_limit_is_valid_and_parses_with_the_generated_parser()
    {
        var span = TestRequests.NewSpan(0);
        span.Attributes.Add(new KeyValue { Key = "deep", Value = TestRequests.NestedValue(OtlpValidator.MaxAnyValueDepth) });
        byte[] bytes = TestRequests.RequestWith(span).ToByteArray();

        Assert.True(OtlpValidator.TryValidate(bytes, OtlpSignal.Traces, out _, out OtlpError error), error.Message);
        ExportTraceServiceRequest.Parser.ParseFrom(bytes);
    }

    internal static byte[] Wrap(byte[] span)
    {
        byte[] scope = [0x12, .. Varint(span.Length), .. span];
        byte[] resource = [0x12, .. Varint(scope.Length), .. scope];
        return [0x0A, .. Varint(resource.Length), .. resource];
    }

    internal static byte[] Varint(long value)
    {
        var bytes = new List<byte>();
        ulong v = (ulong)value;
        while (v >= 0x80)
        {
            bytes.Add((byte)(v | 0x80));
            v >>= 7;
        }

        bytes.Add((byte)v);
        return [.. bytes];
    }
}
