namespace TraceSeal.LoadGen.Tests;

public sealed class LatencyHistogramTests
{
    [Fact]
    public void Percentiles_are_within_one_sixty_fourth_of_the_exact_value()
    {
        var h = new LatencyHistogram();
        for (long v = 1; v <= 100_000; v++)
        {
            h.Record(v);
        }

        foreach (var (p, exact) in new[] { (50.0, 50_000L), (90.0, 90_000L), (99.0, 99_000L) })
        {
            var got = h.Percentile(p);
            Assert.InRange(got, exact, exact + (exact / 64) + 1);
        }

        Assert.Equal(100_000, h.MaxMicros);
        Assert.Equal(100_000, h.Percentile(100));
    }

    [Fact]
    public void Bucket_edges_grow_monotonically_and_cover_every_value()
    {
        long previous = -1;
        foreach (long v in new long[] { 0, 1, 127, 128, 129, 255, 256, 1000, 65_535, 1L << 30, 1L << 40, long.MaxValue })
        {
            int i = LatencyHistogram.Index(v);
            Assert.True(LatencyHistogram.UpperEdge(i) >= Math.Min(v, 1L << 40), $"value {v} above its bucket edge");
            Assert.True(i >= previous);
            previous = i;
        }
    }

    [Fact]
    public void Merged_histograms_count_both()
    {
        var a = new LatencyHistogram();
        var b = new LatencyHistogram();
        a.Record(10);
        b.Record(20_000);

        a.Add(b);

        Assert.Equal(2, a.Count);
        Assert.Equal(20_000, a.MaxMicros);
        Assert.Equal(10, a.Percentile(50));
    }
}
