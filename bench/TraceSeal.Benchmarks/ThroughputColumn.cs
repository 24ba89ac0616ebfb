using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace TraceSeal.Benchmarks;

/// <summary>MB/s (10^6 bytes, as openssl speed reports) from the mean time and the bytes one operation processes.</summary>
internal sealed class ThroughputColumn : IColumn
{
    public string Id => nameof(ThroughputColumn);

    public string ColumnName => "MB/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Megabytes (10^6) processed per second: input bytes of one operation / mean time";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        var meanNs = report?.ResultStatistics?.Mean;
        long bytes = BenchPayloads.BytesPerOperation(benchmarkCase);
        if (meanNs is null || meanNs <= 0 || bytes <= 0)
        {
            return "-";
        }

        return (bytes / (meanNs.Value / 1e9) / 1e6).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
