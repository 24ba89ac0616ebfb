using System.Numerics;

namespace TraceSeal.LoadGen;

/// <summary>
/// Latencies in microseconds in fixed log-linear buckets (HdrHistogram's layout with 64 sub-buckets per power
/// of two): recording is an increment, memory is constant, and any percentile is within 1/64 (1.6%) of the
/// true value. One per worker, merged at the end, so recording needs no synchronisation.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBits = 6;
    private const int SubCount = 1 << SubBits;          // 64
    private const int LinearLimit = 2 * SubCount;       // values below 128 µs get exact buckets
    private const int MaxShift = 34;                    // 2^40 µs (12 days): anything larger is clamped
    private const int BucketCount = LinearLimit + (MaxShift * SubCount);

    private readonly long[] _counts = new long[BucketCount];

    public long Count { get; private set; }

    public long MaxMicros { get; private set; }

    public void Record(long micros)
    {
        micros = Math.Max(0, micros);
        _counts[Index(micros)]++;
        Count++;
        if (micros > MaxMicros)
        {
            MaxMicros = micros;
        }
    }

    public void Add(LatencyHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        for (int i = 0; i < BucketCount; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
        MaxMicros = Math.Max(MaxMicros, other.MaxMicros);
    }

    /// <summary>The value at percentile <paramref name="p"/> (0-100): the upper edge of its bucket, never above the max seen.</summary>
    public long Percentile(double p)
    {
        if (Count == 0)
        {
            return 0;
        }

        long rank = Math.Max(1, (long)Math.Ceiling(p / 100.0 * Count));
        long seen = 0;
        for (int i = 0; i < BucketCount; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Math.Min(UpperEdge(i), MaxMicros);
            }
        }

        return MaxMicros;
    }

    internal static int Index(long micros)
    {
        if (micros < LinearLimit)
        {
            return (int)micros;
        }

        int msb = 63 - BitOperations.LeadingZeroCount((ulong)micros);
        int shift = msb - SubBits;                      // >= 1: value >> shift is in [64, 127]
        if (shift > MaxShift)
        {
            return BucketCount - 1;
        }

        int sub = (int)(micros >> shift) - SubCount;
        return LinearLimit + ((shift - 1) * SubCount) + sub;
    }

    internal static long UpperEdge(int index)
    {
        if (index < LinearLimit)
        {
            return index;
        }

        int shift = ((index - LinearLimit) / SubCount) + 1;
        long sub = ((index - LinearLimit) % SubCount) + SubCount;
        return ((sub + 1) << shift) - 1;
    }
}
