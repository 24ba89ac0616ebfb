using System.Text.RegularExpressions;

namespace TraceSeal.Collector.Config;

/// <summary>Upstream component ids: `type` or `type/name` (`otlp`, `otlp/edge`, `traces/audit`).</summary>
internal static partial class ComponentId
{
    /// <summary>Splits <paramref name="id"/>; on failure returns false and says why in <paramref name="error"/>.</summary>
    public static bool TryParse(string id, out string type, out string? error)
    {
        int slash = id.IndexOf('/', StringComparison.Ordinal);
        type = slash < 0 ? id : id[..slash];
        error = null;
        if (!TypeName().IsMatch(type))
        {
            error = $"invalid component id \"{id}\": the type must start with a letter and hold only letters, digits and _";
            return false;
        }

        if (slash >= 0)
        {
            var name = id[(slash + 1)..];
            if (name.Length == 0 || name.Any(char.IsWhiteSpace))
            {
                error = $"invalid component id \"{id}\": the name after \"/\" must be non-empty and without spaces";
                return false;
            }
        }

        return true;
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]{0,62}$")]
    private static partial Regex TypeName();
}
