using System.Text;
using System.Text.RegularExpressions;

namespace TraceSeal.Collector.Processors.Transform;

/// <summary>
/// Regular expressions from the config, run on values the client chose. Compiled with
/// <see cref="RegexOptions.NonBacktracking"/> (time linear in the input, no catastrophic backtracking) and a match
/// timeout on top. Patterns are written for upstream's Go RE2, which has no backtracking constructs either, so a
/// pattern that needs them (backreferences, lookarounds) is refused rather than run with backtracking.
/// </summary>
internal static class SafeRegex
{
    /// <summary>Far above what a linear-time match of a request-sized value takes; callers fail closed when it is hit.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(250);

    /// <summary>Null with <paramref name="error"/> (one line, the fix included) when the pattern cannot be used.</summary>
    public static Regex? TryCreate(string pattern, out string? error)
    {
        try
        {
            error = null;
            return new Regex(FromGoSyntax(pattern), RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, MatchTimeout);
        }
        catch (NotSupportedException)
        {
            error = $"\"{pattern}\" needs backtracking (a backreference, lookaround or atomic group); upstream's RE2 syntax has none of these, rewrite it without";
        }
        catch (ArgumentException e)
        {
            error = $"\"{pattern}\" is not a valid regular expression: {e.Message.ReplaceLineEndings(" ")}";
        }

        return null;
    }

    /// <summary>True when <paramref name="regex"/> matches; <paramref name="onTimeout"/> is the fail-closed answer.</summary>
    public static bool IsMatch(Regex regex, string input, bool onTimeout)
    {
        try
        {
            return regex.IsMatch(input);
        }
        catch (RegexMatchTimeoutException)
        {
            return onTimeout;
        }
    }

    /// <summary>True when any of <paramref name="regexes"/> matches (a timeout counts as <paramref name="onTimeout"/>).</summary>
    public static bool AnyMatch(Regex[] regexes, string input, bool onTimeout)
    {
        foreach (var regex in regexes)
        {
            if (IsMatch(regex, input, onTimeout))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Go's named group <c>(?P&lt;name&gt;…)</c> is <c>(?&lt;name&gt;…)</c> in .NET; everything else RE2 has means the same.</summary>
    internal static string FromGoSyntax(string pattern)
    {
        if (!pattern.Contains("(?P<", StringComparison.Ordinal))
        {
            return pattern;
        }

        var sb = new StringBuilder(pattern.Length);
        bool escaped = false;
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (!escaped && c == '(' && string.CompareOrdinal(pattern, i, "(?P<", 0, 4) == 0)
            {
                sb.Append("(?<");
                i += 3;
                continue;
            }

            escaped = !escaped && c == '\\';
            sb.Append(c);
        }

        return sb.ToString();
    }
}
