using System.Globalization;

namespace TraceSeal.Collector.Config;

/// <summary>
/// Go's time.ParseDuration grammar, which upstream configs use: `[-+]?(\d+(\.\d*)?|\.\d+)unit` repeated, units
/// ns, us, µs, ms, s, m, h; a bare `0` is allowed. Negative durations are refused: no setting here wants one.
/// TraceSeal also accepts `d` (24h), so retention reads `7d` rather than `168h`; Go has no day unit, so a config
/// using it does not load in the upstream collector. The one duration parser: configs and the CLI both use it.
/// </summary>
internal static class GoDuration
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (text == "0")
        {
            return true;
        }

        var s = text.AsSpan();
        if (s.Length > 0 && s[0] == '+')
        {
            s = s[1..];
        }

        if (s.IsEmpty)
        {
            return false;
        }

        decimal totalTicks = 0;
        while (!s.IsEmpty)
        {
            int n = 0;
            while (n < s.Length && (char.IsAsciiDigit(s[n]) || s[n] == '.'))
            {
                n++;
            }

            if (n == 0 || !decimal.TryParse(s[..n], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            s = s[n..];
            int u = 0;
            while (u < s.Length && !char.IsAsciiDigit(s[u]) && s[u] != '.')
            {
                u++;
            }

            decimal ticksPerUnit = s[..u] switch
            {
                "ns" => 0.01m,
                "us" or "µs" or "μs" => TimeSpan.TicksPerMicrosecond,
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                "h" => TimeSpan.TicksPerHour,
                "d" => TimeSpan.TicksPerDay,
                _ => -1m,
            };
            if (ticksPerUnit < 0)
            {
                return false;
            }

            s = s[u..];
            totalTicks += number * ticksPerUnit;
            if (totalTicks > TimeSpan.MaxValue.Ticks)
            {
                return false;
            }
        }

        value = TimeSpan.FromTicks((long)totalTicks);
        return true;
    }
}
