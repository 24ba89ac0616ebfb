using BenchmarkDotNet.Attributes;
using TraceSeal.Sealing;

namespace TraceSeal.Benchmarks;

/// <summary>Sealer.Seal (fresh data key, one recipient stanza, chunked AES-256-GCM) at a WAL-record and a block size.</summary>
[MemoryDiagnoser]
public class SealBenchmarks
{
    private byte[] _plaintext = [];
    private IRecipient[] _recipients = [];

    [Params(1 << 20, 64 << 20)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _plaintext = new byte[Size];
        new Random(42).NextBytes(_plaintext);
        var dir = Directory.CreateTempSubdirectory("ts-bench-keys-").FullName;
        try
        {
            KeyFiles.Init(dir, "bench");
            _recipients = [KeyFiles.LoadRecipient(Path.Combine(dir, "bench.recipient.pem"))];
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Benchmark(Description = "Sealer.Seal")]
    public int Seal() => Sealer.Seal(_plaintext, ObjectKind.Block, "bench", _recipients).Length;
}
