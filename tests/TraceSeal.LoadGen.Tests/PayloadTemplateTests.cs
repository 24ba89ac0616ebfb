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

    [Fact]
    public void Grpc_body_starts_with_the_uncompressed_length_prefix()
    {
        var template = PayloadTemplate.Build(LoadProtocol.Grpc, spans: 3, attributes: 0, attributeBytes: 0);

        Assert.Equal(0, template.Bytes[0]);
        Assert.Equal(template.Bytes.Length - PayloadTemplate.GrpcPrefixLength, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(template.Bytes.AsSpan(1)));
    }

    private static List<string> TraceIds(LoadProtocol protocol, byte[] body)
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

        var visitor = new TraceIdCollector { Ids = [] };
        Assert.True(OtlpValidator.TryValidate(protobuf, OtlpSignal.Traces, ref visitor, out var summary, out var error), error.Message);
        Assert.Equal(visitor.Ids.Count, summary.ItemCount);
        return visitor.Ids;
    }

    private struct TraceIdCollector : IOtlpSpanVisitor
    {
        public List<string> Ids;

        public readonly void OnResource(ReadOnlySpan<byte> serviceNameUtf8)
        {
        }

        public readonly void OnSpan(ReadOnlySpan<byte> traceId, ReadOnlySpan<byte> spanId, ulong startTimeUnixNano, ulong endTimeUnixNano, ReadOnlySpan<byte> nameUtf8) =>
            Ids.Add(Convert.ToHexStringLower(traceId));
    }
}
