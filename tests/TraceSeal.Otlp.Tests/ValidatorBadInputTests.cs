using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using static TraceSeal.Otlp.Tests.ValidatorRoundTripTests;

namespace TraceSeal.Otlp.Tests;

/// <summary>One malformed input per test, each asserting the stable error code.</summary>
public class ValidatorBadInputTests
{
    private static OtlpError Refuse(byte[] message, OtlpSignal signal = OtlpSignal.Traces)
    {
        Assert.False(OtlpValidator.TryValidate(message, signal, out _, out OtlpError error));
        Assert.False(string.IsNullOrEmpty(error.Message));
        return error;
    }

    private static byte[] SpanRequest(Action<OpenTelemetry.Proto.Trace.V1.Span> change)
    {
        var span = TestRequests.NewSpan(0);
        change(span);
        return TestRequests.RequestWith(span).ToByteArray();
    }

    [Fact]
    public void Truncated_varint() => Assert.Equal("truncated_varint", Refuse([0x0A, 0x80]).Code);

    [Fact]
    public void Overlong_varint_of_eleven_bytes()
        => Assert.Equal("overlong_varint", Refuse([0x0A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).Code);

    [Fact]
    public void Ten_byte_varint_beyond_64_bits()
        => Assert.Equal("overlong_varint", Refuse([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02]).Code);

    [Fact]
    public void Wrong_wire_type_for_resource_spans()
    {
        OtlpError error = Refuse([0x08, 0x01]); // field 1 as VARINT; it is a message
        Assert.Equal("wrong_wire_type", error.Code);
        Assert.Contains("ExportTraceServiceRequest.resource_spans", error.Message);
    }

    [Fact]
    public void Wrong_wire_type_for_span_start_time()
    {
        byte[] span = [.. TestRequests.NewSpan(0).ToByteArray(), 0x38, 0x05]; // field 7 as VARINT; it is fixed64
        OtlpError error = Refuse(Wrap(span));
        Assert.Equal("wrong_wire_type", error.Code);
        Assert.Contains("Span.start_time_unix_nano", error.Message);
    }

    [Fact]
    public void Length_beyond_remaining_bytes() => Assert.Equal("length_overflow", Refuse([0x0A, 0x05, 0x00, 0x00]).Code);

    [Fact]
    public void Length_near_int_max() => Assert.Equal("length_overflow", Refuse([0x0A, .. Varint(int.MaxValue - 1), 0x00]).Code);

    [Fact]
    public void Length_near_ulong_max()
        => Assert.Equal("length_overflow", Refuse([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00]).Code);

    [Fact]
    public void Truncated_fixed64() => Assert.Equal("truncated_fixed64", Refuse(Wrap([0x39, 1, 2, 3])).Code);

    [Fact]
    public void Group_wire_type() => Assert.Equal("group_not_supported", Refuse([0x0B, 0x0C]).Code);

    [Fact]
    public void Field_number_zero() => Assert.Equal("invalid_tag", Refuse([0x02, 0x00]).Code);

    [Fact]
    public void AnyValue_nested_1000_deep()
    {
        OtlpError error = Refuse(SpanRequest(s => s.Attributes.Add(new KeyValue { Key = "deep", Value = TestRequests.NestedValue(1000) })));
        Assert.Equal("nesting_too_deep", error.Code);
    }

    [Fact]
    public void AnyValue_one_past_the_limit()
    {
        OtlpError error = Refuse(SpanRequest(s => s.Attributes.Add(new KeyValue { Key = "deep", Value = TestRequests.NestedValue(OtlpValidator.MaxAnyValueDepth + 1) })));
        Assert.Equal("nesting_too_deep", error.Code);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(17)]
    public void Trace_id_of_wrong_length(int length)
    {
        OtlpError error = Refuse(SpanRequest(s => s.TraceId = ByteString.CopyFrom(new byte[length].Select(_ => (byte)7).ToArray())));
        Assert.Equal("bad_trace_id", error.Code);
        Assert.Contains("Span.trace_id", error.Message);
    }

    [Fact]
    public void Trace_id_all_zero() => Assert.Equal("bad_trace_id", Refuse(SpanRequest(s => s.TraceId = ByteString.CopyFrom(new byte[16]))).Code);

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(9)]
    public void Span_id_of_wrong_length(int length)
        => Assert.Equal("bad_span_id", Refuse(SpanRequest(s => s.SpanId = ByteString.CopyFrom(Enumerable.Repeat((byte)1, length).ToArray()))).Code);

    [Fact]
    public void Span_id_all_zero() => Assert.Equal("bad_span_id", Refuse(SpanRequest(s => s.SpanId = ByteString.CopyFrom(new byte[8]))).Code);

    [Fact]
    public void Parent_span_id_of_wrong_length()
    {
        OtlpError error = Refuse(SpanRequest(s => s.ParentSpanId = ByteString.CopyFrom(new byte[] { 1, 2, 3 })));
        Assert.Equal("bad_span_id", error.Code);
        Assert.Contains("Span.parent_span_id", error.Message);
    }

    [Fact]
    public void Log_record_trace_id_present_but_short()
    {
        var logs = TestRequests.Logs();
        logs.ResourceLogs[0].ScopeLogs[0].LogRecords[1].TraceId = ByteString.CopyFrom(new byte[5]);
        Assert.Equal("bad_trace_id", Refuse(logs.ToByteArray(), OtlpSignal.Logs).Code);
    }

    [Fact]
    public void Invalid_utf8_in_span_name_is_refused_without_echoing_it()
    {
        byte[] bytes = SpanRequest(s => s.Name = "QQQQ");
        int at = bytes.AsSpan().IndexOf("QQQQ"u8);
        bytes[at] = 0xC3; // lead byte followed by ASCII: invalid
        bytes[at + 1] = 0x28;

        OtlpError error = Refuse(bytes);

        Assert.Equal("invalid_utf8", error.Code);
        Assert.Contains("Span.name", error.Message);
        Assert.DoesNotContain("QQ", error.Message);
    }

    [Fact]
    public void Invalid_utf8_in_attribute_key_of_metrics()
    {
        var metrics = TestRequests.Metrics();
        metrics.ResourceMetrics[0].Resource.Attributes[0].Key = "KKKK";
        byte[] bytes = metrics.ToByteArray();
        bytes[bytes.AsSpan().IndexOf("KKKK"u8)] = 0xFF;

        Assert.Equal("invalid_utf8", Refuse(bytes, OtlpSignal.Metrics).Code);
    }

    [Fact]
    public void Error_message_never_contains_ids_or_values()
    {
        OtlpError error = Refuse(SpanRequest(s => s.TraceId = ByteString.CopyFromUtf8("secret-tenant-i")));
        Assert.DoesNotContain("secret", error.Message);
    }
}
