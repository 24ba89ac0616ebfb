using TraceSeal.Otlp;

namespace TraceSeal.LoadGen.Tests;

public sealed class PayloadTemplateTests
{
    [Theory]
    [InlineData("http/protobuf")]
    [InlineData("grpc")]
    [InlineData("http/json")]
    public void Patched_bodies_are_valid_OTLP_with_one_new_trace_id_per_request(string name)
    {
        Assert.True(LoadProtocols.TryParse(name, out var protocol));
        var template = PayloadTemplate.Build(protocol, spans: 25, attributes: 3, attributeBytes: 40);
        var body = template.Bytes.ToArray();

        template.PatchTraceId(body, 0x0102030405060708, 1);
        var first = TraceIds(protocol, body);
        template.PatchTraceId(body, 0x0102030405060708, 2);
        var second = TraceIds(protocol, body);

        Assert.Equal(25, first.Count);
        Assert.Single(first.Distinct());
        Assert.Equal("01020304050607080000000000000001", first[0]);
        Assert.Equal("01020304050607080000000000000002", second[0]);
    }

    [Theory]
    [InlineData("http/protobuf")]
    [InlineData("grpc")]
    [InlineData("http/json")]
    public void Patched_times_are_the_request_s_own_and_nothing_else_moves(string name)
    {
        Assert.True(LoadProtocols.TryParse(name, out var protocol));
        // 600 spans: span i + 500's start equals span i's end, so an unordered search would patch the wrong field.
        var template = PayloadTemplate.Build(protocol, spans: 600, attributes: 1, attributeBytes: 8);
        var body = template.Bytes.ToArray();
        template.PatchTraceId(body, 7, 9);
        var ids = TraceIds(protocol, body);

        const ulong Sent = 1_893_456_000_123_000_000; // 2030-01-01T00:00:00.123Z
        template.PatchTimes(body, Sent);
        var visitor = Visit(protocol, body);

        Assert.Equal(600, visitor.Starts.Count);
        for (int i = 0; i < 600; i++)
        {
            Assert.Equal(Sent + ((ulong)i * 1000), visitor.Starts[i]);
            Assert.Equal(Sent + ((ulong)i * 1000) + 500_000, visitor.Ends[i]);
        }

        Assert.Equal(ids, visitor.Ids);
        Assert.Equal(template.Bytes.Length, body.Length);
    }

    [Fact]
    public void Grpc_body_starts_with_the_uncompressed_length_prefix()
    {
        var template = PayloadTemplate.Build(LoadProtocol.Grpc, spans: 3, attributes: 0, attributeBytes: 0);

        Assert.Equal(0, template.Bytes[0]);
        Assert.Equal(template.Bytes.Length - PayloadTemplate.GrpcPrefixLength, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(template.Bytes.AsSpan(1)));
    }

    private static List<string> TraceIds(LoadProtocol protocol, byte[] body) => Visit(protocol, body).Ids;

    private static TraceIdCollector Visit(LoadProtocol protocol, byte[] body)
    {
        ReadOnlySpan<byte> protobuf = body;
        if (protocol == LoadProtocol.Grpc)
        {
            protobuf = protobuf[PayloadTemplate.GrpcPrefixLength..];
        }
        else if (protocol == LoadProtocol.HttpJson)
        {
            var output = new System.Buffers.ArrayBufferWriter<byte>();
            Assert.True(OtlpJson.TryToProtobuf(body, OtlpSignal.Traces, output, out var jsonError), jsonError.Message);
            protobuf = output.WrittenSpan.ToArray();
        }

        var visitor = new TraceIdCollector { Ids = [], Starts = [], Ends = [] };
        Assert.True(OtlpValidator.TryValidate(protobuf, OtlpSignal.Traces, ref visitor, out var summary, out var error), error.Message);
        Assert.Equal(visitor.Ids.Count, summary.ItemCount);
        return visitor;
    }

    private struct TraceIdCollector : IOtlpSpanVisitor
    {
        public List<string> Ids;
        public List<ulong> Starts;
        public List<ulong> Ends;

        public readonly void OnResource(ReadOnlySpan<byte> serviceNameUtf8)
        {
        }

        public readonly void OnSpan(ReadOnlySpan<byte> traceId, ReadOnlySpan<byte> spanId, ulong startTimeUnixNano, ulong endTimeUnixNano, ReadOnlySpan<byte> nameUtf8)
        {
            Ids.Add(Convert.ToHexStringLower(traceId));
            Starts.Add(startTimeUnixNano);
            Ends.Add(endTimeUnixNano);
        }
    }
}
