using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace TraceSeal.Benchmarks;

/// <summary>
/// <c>dotnet TraceSeal.Benchmarks.dll [--quick] [--filter PATTERN]</c>. In-process toolchain: no child project
/// build per benchmark, which keeps a run to minutes on a small, shared machine (at the cost of the isolation a
/// separate process gives). <c>--quick</c> uses BenchmarkDotNet's ShortRun job (3 warm-ups, 3 iterations).
/// <c>--processors-cpu SECONDS</c> instead measures the processor pipelines by CPU time (see <see cref="ProcessorBenchmarks.MeasureCpu"/>).
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        int cpu = Array.IndexOf(args, "--processors-cpu");
        if (cpu >= 0)
        {
            ProcessorBenchmarks.MeasureCpu(TimeSpan.FromSeconds(cpu + 1 < args.Length ? double.Parse(args[cpu + 1], CultureInfo.InvariantCulture) : 10));
            return 0;
        }

        bool quick = args.Contains("--quick");
        var job = (quick ? Job.ShortRun : Job.Default).WithToolchain(InProcessEmitToolchain.Instance);
        var config = ManualConfig.Create(DefaultConfig.Instance)
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumn(new ThroughputColumn())
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        var rest = args.Where(a => a != "--quick").ToArray();
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest.Length == 0 ? ["--filter", "*"] : rest, config).ToArray();
        PrintMachineReadable(summaries);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }

    /// <summary>One tab-separated <c>MICRO</c> line per benchmark (name, bytes/op, MB/s, allocated bytes/op) for bench/run.sh.</summary>
    private static void PrintMachineReadable(IEnumerable<Summary> summaries)
    {
        var column = new ThroughputColumn();
        foreach (var summary in summaries)
        {
            foreach (var report in summary.Reports.Where(r => r.Success))
            {
                var benchmark = report.BenchmarkCase;
                long allocated = report.GcStats.GetBytesAllocatedPerOperation(benchmark) ?? -1;
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"MICRO\t{benchmark.Descriptor.WorkloadMethodDisplayInfo.Trim('\'')}\t{BenchPayloads.BytesPerOperation(benchmark)}\t{column.GetValue(summary, benchmark)}\t{allocated}"));
            }
        }
    }
}
