using System.Text;
using System.Text.RegularExpressions;

namespace TraceSeal.Collector.Config;

/// <summary>
/// Upstream's value expansion: `${env:NAME}`, `${NAME}` and `${env:NAME:-default}`; `$$` is a literal `$`; a `$`
/// followed by anything else stays as written. Unlike upstream (which expands an unset variable to empty),
/// an unset variable is an error: an empty `client_ca_file` would quietly turn mutual TLS off.
/// </summary>
internal static partial class EnvExpander
{
    /// <summary>Expands <paramref name="text"/>; on failure returns null and says why in <paramref name="error"/>.</summary>
    public static string? Expand(string text, Func<string, string?> lookup, out string? error)
    {
        error = null;
        if (!text.Contains('$', StringComparison.Ordinal))
        {
            return text;
        }

        var sb = new StringBuilder(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c != '$' || i + 1 >= text.Length)
            {
                sb.Append(c);
                i++;
                continue;
            }

            if (text[i + 1] == '$')
            {
                sb.Append('$');
                i += 2;
                continue;
            }

            if (text[i + 1] != '{')
            {
                sb.Append(c);
                i++;
                continue;
            }

            int close = text.IndexOf('}', i + 2);
            if (close < 0)
            {
                error = $"unterminated \"${{\" in \"{text}\"; close it with \"}}\" or write \"$$\" for a literal \"$\"";
                return null;
            }

            var value = Resolve(text[(i + 2)..close], lookup, out error);
            if (value is null)
            {
                return null;
            }

            sb.Append(value);
            i = close + 1;
        }

        return sb.ToString();
    }

    private static string? Resolve(string reference, Func<string, string?> lookup, out string? error)
    {
        error = null;
        var body = reference;
        int colon = reference.IndexOf(':', StringComparison.Ordinal);
        // `${NAME:-default}` has a colon too; only `scheme:` without a following `-` names a provider.
        if (colon >= 0 && !reference.AsSpan(colon + 1).StartsWith("-"))
        {
            var scheme = reference[..colon];
            if (scheme != "env")
            {
                error = $"unsupported config provider \"{scheme}\" in \"${{{reference}}}\" (supported: env)";
                return null;
            }

            body = reference[(colon + 1)..];
        }

        string? fallback = null;
        int dash = body.IndexOf(":-", StringComparison.Ordinal);
        if (dash >= 0)
        {
            fallback = body[(dash + 2)..];
            body = body[..dash];
        }

        if (!EnvName().IsMatch(body))
        {
            error = $"invalid environment variable name \"{body}\" in \"${{{reference}}}\"; names are letters, digits and _";
            return null;
        }

        var value = lookup(body) ?? fallback;
        if (value is null)
        {
            error = $"environment variable \"{body}\" is not set; set it or give a default as ${{env:{body}:-value}} " +
                "(TraceSeal does not expand unset variables to empty)";
        }

        return value;
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvName();
}
