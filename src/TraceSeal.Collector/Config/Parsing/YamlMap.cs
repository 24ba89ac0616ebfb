using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace TraceSeal.Collector.Config;

/// <summary>
/// A YAML mapping with its key path (`receivers::otlp::protocols::grpc`) and typed getters. A getter that meets
/// a bad value records an error at the value's line and returns null, so the caller falls back to the default
/// and parsing goes on. A null value (`key:` or `key: ~`) reads as absent, as upstream treats it.
/// </summary>
internal sealed class YamlMap
{
    private readonly ConfigContext _ctx;
    private readonly List<KeyValuePair<YamlScalarNode, YamlNode>> _entries;

    private YamlMap(ConfigContext ctx, List<KeyValuePair<YamlScalarNode, YamlNode>> entries, YamlNode at, string path)
    {
        _ctx = ctx;
        _entries = entries;
        At = at;
        Path = path;
    }

    /// <summary>Where errors about the block as a whole point: the key that opens it.</summary>
    public YamlNode At { get; }

    public string Path { get; }

    public IReadOnlyList<KeyValuePair<YamlScalarNode, YamlNode>> Entries => _entries;

    /// <summary>Reads <paramref name="value"/> as a mapping; null/empty counts as an empty one (upstream's `grpc:`).</summary>
    public static YamlMap? From(ConfigContext ctx, YamlNode? value, YamlNode at, string path)
    {
        var entries = new List<KeyValuePair<YamlScalarNode, YamlNode>>();
        if (value is null || IsNull(value))
        {
            return new YamlMap(ctx, entries, at, path);
        }

        if (value is not YamlMappingNode mapping)
        {
            ctx.Error(value, path, $"expected a mapping of keys, found {Describe(value)}");
            return null;
        }

        foreach (var (key, child) in mapping.Children)
        {
            if (key is YamlScalarNode scalarKey)
            {
                entries.Add(new(scalarKey, child));
            }
            else
            {
                ctx.Error(key, path, "keys must be plain names, found " + Describe(key));
            }
        }

        return new YamlMap(ctx, entries, at, path);
    }

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain or YamlDotNet.Core.ScalarStyle.Any } s
        && s.Value is null or "" or "~" or "null" or "Null" or "NULL";

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"\"{s.Value}\"",
        _ => "an unsupported node",
    };

    public string Child(string key) => Path.Length == 0 ? key : $"{Path}::{key}";

    /// <summary>
    /// Every key must be in <paramref name="supported"/> (listed in the message) or <paramref name="ignored"/>
    /// (upstream keys accepted silently because they do not affect security).
    /// </summary>
    public void CheckKeys(IReadOnlyList<string> supported, IReadOnlyList<string>? ignored = null)
    {
        foreach (var (key, _) in _entries)
        {
            var name = key.Value ?? "";
            if (!supported.Contains(name) && ignored?.Contains(name) != true)
            {
                _ctx.Error(key, Path, $"unknown key \"{name}\" (supported: {string.Join(", ", supported)})");
            }
        }
    }

    /// <summary>True when <paramref name="key"/> is present with a value (`key:` alone counts as absent).</summary>
    public bool Has(string key) => ValueNode(key) is not null;

    public YamlScalarNode? KeyNode(string key)
    {
        foreach (var (k, _) in _entries)
        {
            if (k.Value == key)
            {
                return k;
            }
        }

        return null;
    }

    /// <summary>The value under <paramref name="key"/>, or null when absent or null.</summary>
    public YamlNode? ValueNode(string key)
    {
        foreach (var (k, v) in _entries)
        {
            if (k.Value == key)
            {
                return IsNull(v) ? null : v;
            }
        }

        return null;
    }

    public YamlMap? Map(string key)
    {
        var keyNode = KeyNode(key);
        return keyNode is null ? null : From(_ctx, ValueNode(key), keyNode, Child(key));
    }

    public string? String(string key) => Scalar(key)?.Value;

    public YamlScalarNode? Scalar(string key)
    {
        var node = ValueNode(key);
        if (node is null)
        {
            return null;
        }

        if (node is YamlScalarNode scalar)
        {
            return scalar;
        }

        _ctx.Error(node, Child(key), $"expected a single value, found {Describe(node)}");
        return null;
    }

    public bool? Bool(string key)
    {
        var s = Scalar(key);
        if (s is null)
        {
            return null;
        }

        if (bool.TryParse(s.Value, out var b))
        {
            return b;
        }

        _ctx.Error(s, Child(key), $"expected true or false, found \"{s.Value}\"");
        return null;
    }

    public long? Integer(string key, long min, long max = long.MaxValue)
    {
        var s = Scalar(key);
        if (s is null)
        {
            return null;
        }

        if (!long.TryParse(s.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
        {
            _ctx.Error(s, Child(key), $"expected a whole number, found \"{s.Value}\"");
            return null;
        }

        return InRange(s, key, n, min, max) ? n : null;
    }

    public double? Number(string key, double min, double max)
    {
        var s = Scalar(key);
        if (s is null)
        {
            return null;
        }

        if (!double.TryParse(s.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d))
        {
            _ctx.Error(s, Child(key), $"expected a number, found \"{s.Value}\"");
            return null;
        }

        if (d < min || d > max)
        {
            _ctx.Error(s, Child(key), $"must be between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}, found {s.Value}");
            return null;
        }

        return d;
    }

    /// <summary>A Go duration (`200ms`, `30s`, `5m`, `1h`); zero only when <paramref name="allowZero"/>.</summary>
    public TimeSpan? Duration(string key, bool allowZero = false)
    {
        var s = Scalar(key);
        if (s is null)
        {
            return null;
        }

        if (!GoDuration.TryParse(s.Value ?? "", out var d))
        {
            _ctx.Error(s, Child(key), $"invalid duration \"{s.Value}\"; use a Go duration such as 30s, 5m or 1h");
            return null;
        }

        if (d == TimeSpan.Zero && !allowZero)
        {
            _ctx.Error(s, Child(key), $"must be greater than 0, found \"{s.Value}\"");
            return null;
        }

        return d;
    }

    /// <summary>A positive byte count: `1048576` or `1MiB`.</summary>
    public long? Bytes(string key)
    {
        var s = Scalar(key);
        if (s is null)
        {
            return null;
        }

        if (!ByteSize.TryParse(s.Value ?? "", out var n))
        {
            _ctx.Error(s, Child(key), $"invalid size \"{s.Value}\"; use a whole number of bytes or a unit such as 64MiB");
            return null;
        }

        return InRange(s, key, n, 1, long.MaxValue) ? n : null;
    }

    public string? OneOf(string key, IReadOnlyList<string> allowed)
    {
        var s = Scalar(key);
        if (s is null)
        {
            return null;
        }

        if (allowed.Contains(s.Value ?? ""))
        {
            return s.Value;
        }

        _ctx.Error(s, Child(key), $"unsupported value \"{s.Value}\" (supported: {string.Join(", ", allowed)})");
        return null;
    }

    /// <summary>A list of single values; null when absent. Items that are not single values are reported.</summary>
    public IReadOnlyList<YamlScalarNode>? List(string key)
    {
        var node = ValueNode(key);
        if (node is null)
        {
            return KeyNode(key) is null ? null : [];
        }

        if (node is not YamlSequenceNode seq)
        {
            _ctx.Error(node, Child(key), $"expected a list, found {Describe(node)}");
            return null;
        }

        var items = new List<YamlScalarNode>();
        for (int i = 0; i < seq.Children.Count; i++)
        {
            if (seq.Children[i] is YamlScalarNode s && !IsNull(s))
            {
                items.Add(s);
            }
            else
            {
                _ctx.Error(seq.Children[i], $"{Child(key)}[{i}]", $"expected a single value, found {Describe(seq.Children[i])}");
            }
        }

        return items;
    }

    /// <summary>
    /// A file path, resolved against the config file's directory. When files are checked, a missing file is an
    /// error whose fix is <paramref name="purpose"/> (what the file must be).
    /// </summary>
    public string? FilePath(string key, string purpose)
    {
        var s = Scalar(key);
        return s is null ? null : CheckFile(_ctx, s, Child(key), purpose);
    }

    public static string? CheckFile(ConfigContext ctx, YamlScalarNode s, string keyPath, string purpose)
    {
        var full = ctx.ResolvePath(s.Value ?? "");
        if (ctx.Options.CheckFiles && !File.Exists(full))
        {
            ctx.Error(s, keyPath, $"file not found: {full}; {purpose}");
            return null;
        }

        return full;
    }

    private bool InRange(YamlScalarNode s, string key, long n, long min, long max)
    {
        if (n >= min && n <= max)
        {
            return true;
        }

        _ctx.Error(s, Child(key), max == long.MaxValue
            ? $"must be at least {min}, found {s.Value}"
            : $"must be between {min} and {max}, found {s.Value}");
        return false;
    }
}
