using BenchmarkDotNet.Running;
using TraceSeal.LoadGen;

namespace TraceSeal.Benchmarks;

/// <summary>
/// The inputs, built deterministically so the throughput column (evaluated in the host) sees the same sizes the
/// benchmarks used: a 1000-span export request as loadgen sends it (4 attributes of 16 bytes per span).
/// </summary>
internal static class BenchPayloads
{
    public const int Spans = 1000;

    public static readonly byte[] Protobuf = Patched(LoadProtocol.HttpProtobuf);

    public static readonly byte[] Json = Patched(LoadProtocol.HttpJson);

    public static long BytesPerOperation(BenchmarkCase benchmarkCase)
    {
        ArgumentNullException.ThrowIfNull(benchmarkCase);
        var size = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == nameof(SealBenchmarks.Size));
        if (size?.Value is int bytes)
        {
            return bytes;
        }

        return benchmarkCase.Descriptor.Type == typeof(JsonDecodeBenchmarks) ? Json.Length : Protobuf.Length;
    }

    private static byte[] Patched(LoadProtocol protocol)
    {
        var template = PayloadTemplate.Build(protocol, Spans, attributes: 4, attributeBytes: 16);
        var body = template.Bytes.ToArray();
        template.PatchTraceId(body, 0x1122334455667788, 1);
        return body;
    }
}
