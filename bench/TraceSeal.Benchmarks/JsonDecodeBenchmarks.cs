using System.Buffers;
using BenchmarkDotNet.Attributes;
using TraceSeal.Otlp;

namespace TraceSeal.Benchmarks;

/// <summary>OTLP/JSON to protobuf (what the HTTP receiver does for application/json) on the same 1000-span request.</summary>
[MemoryDiagnoser]
public class JsonDecodeBenchmarks
{
    private readonly byte[] _json = BenchPayloads.Json;
    private readonly ArrayBufferWriter<byte> _output = new(BenchPayloads.Protobuf.Length * 2);

    [Benchmark(Description = "OtlpJson decode 1000 spans")]
    public int Decode()
    {
        _output.ResetWrittenCount();
        if (!OtlpJson.TryToProtobuf(_json, OtlpSignal.Traces, _output, out var error))
        {
            throw new InvalidOperationException(error.Message);
        }

        return _output.WrittenCount;
    }
}
