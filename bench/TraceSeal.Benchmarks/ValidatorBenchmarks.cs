using BenchmarkDotNet.Attributes;
using TraceSeal.Otlp;

namespace TraceSeal.Benchmarks;

/// <summary>The zero-copy validating reader on a 1000-span request: the per-request cost every receiver pays.</summary>
[MemoryDiagnoser]
public class ValidatorBenchmarks
{
    private readonly byte[] _request = BenchPayloads.Protobuf;

    [Benchmark(Description = "OtlpValidator 1000 spans")]
    public int Validate()
    {
        if (!OtlpValidator.TryValidate(_request, OtlpSignal.Traces, out var summary, out var error))
        {
            throw new InvalidOperationException(error.Message);
        }

        return summary.ItemCount;
    }
}
