namespace TraceSeal.Collector.Config;

/// <summary>The `min_version`/`max_version` values upstream accepts, oldest first.</summary>
internal static class TlsVersions
{
    public static readonly string[] All = ["1.0", "1.1", "1.2", "1.3"];

    /// <summary>Reads a version key; 1.0/1.1 load (upstream accepts them) but with a warning.</summary>
    public static string? Read(ConfigContext ctx, YamlMap tls, string key)
    {
        var s = tls.Scalar(key);
        if (s is null)
        {
            return null;
        }

        if (!All.Contains(s.Value))
        {
            ctx.Error(s, tls.Child(key), $"unsupported TLS version \"{s.Value}\" (supported: {string.Join(", ", All)}; use 1.2 or 1.3)");
            return null;
        }

        if (s.Value is "1.0" or "1.1")
        {
            ctx.Warn(s, tls.Child(key), $"TLS {s.Value} is deprecated (RFC 8996) and broken by known attacks; use 1.2 or 1.3");
        }

        return s.Value;
    }

    /// <summary>Compares two versions from <see cref="All"/>.</summary>
    public static int Compare(string a, string b) => Array.IndexOf(All, a).CompareTo(Array.IndexOf(All, b));
}
