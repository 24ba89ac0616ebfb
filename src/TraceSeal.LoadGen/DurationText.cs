using System.Globalization;

namespace TraceSeal.LoadGen;

/// <summary>Durations as the collector config writes them: <c>500ms</c>, <c>20s</c>, <c>2m</c>, <c>1h</c>; a bare number is seconds.</summary>
internal static class DurationText
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        var (number, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : text.EndsWith('m') ? (text[..^1], 60.0)
            : text.EndsWith('h') ? (text[..^1], 3600.0)
            : (text, 1.0);
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) || n <= 0 || n * unit > TimeSpan.FromDays(1).TotalSeconds)
        {
            return false;
        }

        value = TimeSpan.FromSeconds(n * unit);
        return true;
    }
}
