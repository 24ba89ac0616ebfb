using TraceSeal.Sealing.Randomness;
using TraceSeal.Sealing.Recipients;

namespace TraceSeal.Sealing.Tests;

/// <summary>TEST ONLY keys, derived from fixed public seeds (docs/format.md §9). Never use them for data.</summary>
internal static class TestKeys
{
    public static readonly DateTimeOffset FixedTime = DateTimeOffset.FromUnixTimeSeconds(1_735_689_600); // 2025-01-01T00:00:00Z

    public static byte[] Scalar(string seed, EcCurveInfo? curve = null) => (curve ?? EcCurveInfo.P256).DrawScalar(new SeededRandom(seed));

    public static EcIdentity Identity(string seed, EcCurveInfo? curve = null)
    {
        curve ??= EcCurveInfo.P256;
        return EcIdentity.FromScalar(curve, Scalar(seed, curve));
    }

    public static IRandomSource Random(string seed) => new SeededRandom(seed);

    public static byte[] Pattern(int length)
    {
        var data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (byte)((i * 31) + (i >> 8));
        }

        return data;
    }
}
