using System.Text;

namespace TraceSeal.Collector.Identity;

/// <summary>
/// Client identities come from certificates a client chose: before one reaches a log line, a terminal or an
/// error message, every control character (C0, DEL, C1) and the backslash are written as <c>\xNN</c> (a character
/// above U+00FF as <c>\uNNNN</c> when it is a control or format character), so <c>\r</c>, <c>ESC[2J</c> or a
/// NUL cannot forge or erase a line. Printable text is unchanged.
/// </summary>
internal static class IdentityText
{
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int i = 0;
        while (i < text.Length && !NeedsEscape(text[i]))
        {
            i++;
        }

        if (i == text.Length)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 16);
        builder.Append(text, 0, i);
        for (; i < text.Length; i++)
        {
            char c = text[i];
            if (!NeedsEscape(c))
            {
                builder.Append(c);
            }
            else if (c <= 0xFF)
            {
                builder.Append("\\x").Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append("\\u").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    /// <summary>True when <paramref name="text"/> holds a character <see cref="Escape"/> would rewrite (other than '\').</summary>
    public static bool HasControl(string text)
    {
        foreach (char c in text)
        {
            if (c != '\\' && NeedsEscape(c))
            {
                return true;
            }
        }

        return false;
    }

    // Format characters (bidi overrides U+202E, zero-width joiners) reorder or hide text on a terminal just as well.
    private static bool NeedsEscape(char c) =>
        c < 0x20 || c == '\\' || (c >= 0x7F && c <= 0x9F) || (c > 0xFF && (char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format));
}
