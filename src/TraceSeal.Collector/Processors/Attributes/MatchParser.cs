using System.Globalization;
using System.Text.RegularExpressions;
using OpenTelemetry.Proto.Common.V1;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Processors.Transform;
using TraceSeal.Otlp;
using YamlDotNet.RepresentationModel;

namespace TraceSeal.Collector.Processors.Attributes;

/// <summary>
/// Reads `include` / `exclude` (upstream's filterconfig.MatchProperties with filterset.Config) with upstream's rules:
/// `match_type` (strict or regexp) is required, at least one property must be set, regexp attribute values must be
/// strings, strict span kinds must be standard ones. Which properties a signal allows is checked once the pipelines
/// are known (<see cref="CheckSignal"/>), as upstream checks it when it builds the processor for a pipeline.
/// </summary>
internal static class MatchParser
{
    private const string Strict = "strict", Regexp = "regexp";

    private static readonly string[] Keys =
        ["match_type", Regexp, "services", "span_names", "span_kinds", "attributes", "resources", "libraries",
            "log_bodies", "log_severity_texts", "log_severity_number", "metric_names"];

    private static readonly string[] PropertyKeys = Keys[2..];

    /// <summary>Properties valid per signal (upstream's ValidateForSpans / ValidateForLogs / ValidateForMetrics).</summary>
    private static readonly string[] ForTraces = ["services", "span_names", "span_kinds", "attributes", "resources", "libraries"];
    private static readonly string[] ForLogs = ["attributes", "resources", "libraries", "log_bodies", "log_severity_texts", "log_severity_number"];
    private static readonly string[] ForMetrics = ["metric_names", "resources"];

    /// <summary>upstream's severity names (plog.SeverityNumber's text form), case-insensitive; 1 = TRACE … 24 = FATAL4.</summary>
    private static readonly string[] SeverityNames = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

    /// <summary>Null (nothing reported) when neither key is present; null with errors reported when either is invalid.</summary>
    public static MatchConfig? Parse(ConfigContext ctx, YamlMap m)
    {
        int errors = ctx.Errors.Count;
        var include = Read(ctx, m, "include");
        var exclude = Read(ctx, m, "exclude");
        return ctx.Errors.Count == errors && (include is not null || exclude is not null) ? new MatchConfig { Include = include?.Match, Exclude = exclude?.Match, Written = [.. Written(include), .. Written(exclude)] } : null;
    }

    /// <summary>Each property written under include / exclude that <paramref name="signal"/> does not have is an error naming the pipeline.</summary>
    public static void CheckSignal(ConfigContext ctx, MatchConfig match, OtlpSignal signal, string pipeline)
    {
        var valid = signal switch
        {
            OtlpSignal.Traces => ForTraces,
            OtlpSignal.Logs => ForLogs,
            _ => ForMetrics,
        };
        foreach (var (name, at, path) in match.Written)
        {
            if (!valid.Contains(name))
            {
                ctx.Error(at, path, $"not valid for {Noun(signal)} (pipeline \"{pipeline}\" uses this processor); {Noun(signal)} match on {string.Join(", ", valid)}");
            }
        }
    }

    private static string Noun(OtlpSignal signal) => signal switch
    {
        OtlpSignal.Traces => "spans",
        OtlpSignal.Logs => "log records",
        _ => "metrics",
    };

    private static IEnumerable<WrittenProperty> Written(Parsed? parsed) => parsed?.Written ?? [];

    private sealed record Parsed(MatchProperties Match, List<WrittenProperty> Written);

    private static Parsed? Read(ConfigContext ctx, YamlMap parent, string key)
    {
        var keyNode = parent.KeyNode(key);
        if (keyNode is null)
        {
            return null;
        }

        var m = YamlMap.From(ctx, parent.ValueNode(key), keyNode, parent.Child(key));
        if (m is null)
        {
            return null;
        }

        if (m.Entries.Count == 0)
        {
            // `include:` with nothing under it: upstream's "at least one of ... must be specified".
            ctx.Error(keyNode, parent.Child(key), $"empty: set match_type ({Strict} or {Regexp}) and at least one of {string.Join(", ", PropertyKeys)}");
            return null;
        }

        m.CheckKeys(Keys);
        int errors = ctx.Errors.Count;
        string? matchType = m.OneOf("match_type", [Strict, Regexp]);
        if (!m.Has("match_type"))
        {
            ctx.Error(m.At, m.Child("match_type"), $"required: {Strict} (names compared as written) or {Regexp} (names are regular expressions, unanchored)");
        }

        if (m.Map(Regexp) is { } regexpOptions)
        {
            // upstream's LRU cache of match results: a speed option only; TraceSeal does not cache and ignores it.
            regexpOptions.CheckKeys(["cacheenabled", "cachemaxnumentries"]);
        }

        var written = new List<WrittenProperty>();
        foreach (var name in PropertyKeys)
        {
            if (m.KeyNode(name) is { } node && m.ValueNode(name) is not null)
            {
                written.Add(new WrittenProperty(name, node, m.Child(name)));
            }
        }

        if (written.Count == 0)
        {
            ctx.Error(m.At, m.Path, $"at least one of {string.Join(", ", PropertyKeys)} is required: what an item must have to be {(key == "include" ? "processed" : "left alone")}");
        }

        if (matchType is null)
        {
            return null;
        }

        // Fail closed: a regex that times out counts as matched under include and as not matched under exclude, so
        // the actions (which delete and hash) still run on that item.
        bool onTimeout = key == "include";
        var match = new MatchProperties
        {
            Services = Names(ctx, m, "services", matchType, onTimeout),
            SpanNames = Names(ctx, m, "span_names", matchType, onTimeout),
            SpanKinds = SpanKinds(ctx, m, matchType, onTimeout),
            LogBodies = Names(ctx, m, "log_bodies", matchType, onTimeout),
            LogSeverityTexts = Names(ctx, m, "log_severity_texts", matchType, onTimeout),
            LogSeverityNumber = Severity(ctx, m),
            MetricNames = Names(ctx, m, "metric_names", matchType, onTimeout),
            Attributes = AttributeList(ctx, m, "attributes", matchType, onTimeout),
            Resources = AttributeList(ctx, m, "resources", matchType, onTimeout),
            Libraries = Libraries(ctx, m, matchType, onTimeout),
        };
        return ctx.Errors.Count == errors ? new Parsed(match, written) : null;
    }

    private static StringFilter? Names(ConfigContext ctx, YamlMap m, string key, string matchType, bool onTimeout)
    {
        var items = m.List(key);
        return items is null || items.Count == 0 ? null : Filter(ctx, items.Select((s, i) => (s, $"{m.Child(key)}[{i}]")), matchType, onTimeout);
    }

    private static StringFilter? Filter(ConfigContext ctx, IEnumerable<(YamlScalarNode Node, string Path)> items, string matchType, bool onTimeout)
    {
        if (matchType == Strict)
        {
            return new StringFilter(items.Select(i => i.Node.Value ?? ""));
        }

        var regexes = new List<Regex>();
        foreach (var (node, path) in items)
        {
            if (SafeRegex.TryCreate(node.Value ?? "", out var error) is { } regex)
            {
                regexes.Add(regex);
            }
            else
            {
                ctx.Error(node, path, error!);
            }
        }

        return new StringFilter([.. regexes], onTimeout);
    }

    private static StringFilter? SpanKinds(ConfigContext ctx, YamlMap m, string matchType, bool onTimeout)
    {
        var items = m.List("span_kinds");
        if (items is null || items.Count == 0)
        {
            return null;
        }

        if (matchType == Strict)
        {
            string[] standard = MatchProperties.SpanKindNames[1..];
            for (int i = 0; i < items.Count; i++)
            {
                if (!standard.Contains(items[i].Value))
                {
                    ctx.Error(items[i], $"{m.Child("span_kinds")}[{i}]", $"unknown span kind \"{items[i].Value}\" (with match_type strict: {string.Join(", ", standard)})");
                }
            }
        }

        return Filter(ctx, items.Select((s, i) => (s, $"{m.Child("span_kinds")}[{i}]")), matchType, onTimeout);
    }

    /// <summary>`attributes` / `resources`: a list of {key, value?}; strict values are typed as YAML reads them, regexp values must be strings.</summary>
    private static AttributeMatcher[] AttributeList(ConfigContext ctx, YamlMap m, string key, string matchType, bool onTimeout)
    {
        if (m.ValueNode(key) is not { } node)
        {
            return [];
        }

        if (node is not YamlSequenceNode sequence)
        {
            ctx.Error(node, m.Child(key), $"expected a list of {{key: ..., value: ...}}, found {YamlMap.Describe(node)}");
            return [];
        }

        var result = new List<AttributeMatcher>();
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            var item = YamlMap.From(ctx, sequence.Children[i], sequence.Children[i], $"{m.Child(key)}[{i}]");
            if (item is null)
            {
                continue;
            }

            item.CheckKeys(["key", "value"]);
            string? name = item.String("key");
            if (string.IsNullOrEmpty(name))
            {
                ctx.Error(item.At, item.Path, "key is required: the attribute that must be present");
                continue;
            }

            if (!item.Has("value"))
            {
                result.Add(new AttributeMatcher { Key = name });
            }
            else if (item.ValueNode("value") is not YamlScalarNode)
            {
                ctx.Error(item.ValueNode("value")!, item.Child("value"), $"expected a single value (string, number, true or false), found {YamlMap.Describe(item.ValueNode("value")!)}");
            }
            else if (matchType == Strict)
            {
                result.Add(new AttributeMatcher { Key = name, Value = AttributeActionsParser.Value(ctx, item, "value") });
            }
            else if (AttributeActionsParser.Value(ctx, item, "value") is { ValueCase: not AnyValue.ValueOneofCase.StringValue } typed)
            {
                var at = item.ValueNode("value")!;
                ctx.Error(at, item.Child("value"), $"match_type regexp compares \"{name}\" by a pattern, which must be a string, found {typed.ValueCase switch { AnyValue.ValueOneofCase.IntValue => "an int", AnyValue.ValueOneofCase.DoubleValue => "a double", _ => "a bool" }}; quote it: \"{((YamlScalarNode)at).Value}\"");
            }
            else if (Filter(ctx, [(item.Scalar("value")!, item.Child("value"))], matchType, onTimeout) is { } pattern)
            {
                result.Add(new AttributeMatcher { Key = name, Pattern = pattern });
            }
        }

        return [.. result];
    }

    private static LibraryMatcher[] Libraries(ConfigContext ctx, YamlMap m, string matchType, bool onTimeout)
    {
        if (m.ValueNode("libraries") is not { } node)
        {
            return [];
        }

        if (node is not YamlSequenceNode sequence)
        {
            ctx.Error(node, m.Child("libraries"), $"expected a list of {{name: ..., version: ...}}, found {YamlMap.Describe(node)}");
            return [];
        }

        var result = new List<LibraryMatcher>();
        for (int i = 0; i < sequence.Children.Count; i++)
        {
            var item = YamlMap.From(ctx, sequence.Children[i], sequence.Children[i], $"{m.Child("libraries")}[{i}]");
            if (item is null)
            {
                continue;
            }

            item.CheckKeys(["name", "version"]);
            var name = item.Scalar("name");
            if (name is null)
            {
                ctx.Error(item.At, item.Path, "name is required: the instrumentation scope (library) name");
                continue;
            }

            // `version:` with nothing = not set (any version); `version: ""` = only an empty version, as upstream.
            var version = item.Scalar("version");
            var nameFilter = Filter(ctx, [(name, item.Child("name"))], matchType, onTimeout)!;
            var versionFilter = version is null ? null : Filter(ctx, [(version, item.Child("version"))], matchType, onTimeout);
            result.Add(new LibraryMatcher { Name = nameFilter, Version = versionFilter });
        }

        return [.. result];
    }

    /// <summary>`log_severity_number: {min, match_undefined}`; min is 1–24 or a name (INFO, warn2, ...).</summary>
    private static SeverityNumberMatch? Severity(ConfigContext ctx, YamlMap m)
    {
        var s = m.Map("log_severity_number");
        if (s is null)
        {
            return null;
        }

        s.CheckKeys(["min", "match_undefined"]);
        bool matchUndefined = s.Bool("match_undefined") ?? false;
        var min = s.Scalar("min");
        if (min is null)
        {
            ctx.Error(s.At, s.Child("min"), "required: the lowest severity that matches, 1-24 or a name (TRACE, DEBUG, INFO, WARN, ERROR, FATAL, optionally followed by 2-4)");
            return null;
        }

        if (SeverityNumber(min.Value ?? "") is { } number)
        {
            return new SeverityNumberMatch(number, matchUndefined);
        }

        ctx.Error(min, s.Child("min"), $"unknown severity \"{min.Value}\": 1-24 or a name (TRACE, DEBUG, INFO, WARN, ERROR, FATAL, optionally followed by 2-4)");
        return null;
    }

    /// <summary>OTLP's SeverityNumber: TRACE = 1 … TRACE4 = 4, DEBUG = 5, INFO = 9, WARN = 13, ERROR = 17, FATAL = 21 … FATAL4 = 24.</summary>
    internal static int? SeverityNumber(string text)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
        {
            return n is >= 1 and <= 24 ? n : null;
        }

        string upper = text.ToUpperInvariant();
        for (int i = 0; i < SeverityNames.Length; i++)
        {
            string name = SeverityNames[i];
            if (!upper.StartsWith(name, StringComparison.Ordinal))
            {
                continue;
            }

            string rest = upper[name.Length..];
            if (rest.Length == 0)
            {
                return (i * 4) + 1;
            }

            if (rest is "2" or "3" or "4")
            {
                return (i * 4) + rest[0] - '0';
            }
        }

        return null;
    }
}

/// <summary>A property written under include / exclude, where it was written (for the per-signal check).</summary>
internal readonly record struct WrittenProperty(string Name, YamlNode At, string Path);
