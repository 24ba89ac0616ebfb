using System.Globalization;
using System.Text.RegularExpressions;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Collector.Processors.Transform;
using OtlpResource = OpenTelemetry.Proto.Resource.V1.Resource;

namespace TraceSeal.Collector.Processors.Attributes;

/// <summary>
/// `include` / `exclude` of `attributes`, as upstream's filterconfig.MatchProperties and its matchers (filterspan,
/// filterlog, filtermetric, filtermatcher): every property that is set must match; within a list of names one match
/// is enough; every listed attribute (and every listed resource attribute) must be present and, when a value is given,
/// equal (strict, typed) or matched (regexp, on the value's string form); every listed library must match its name and,
/// when given, its version. Regular expressions are unanchored (Go's MatchString) and run through <see cref="SafeRegex"/>.
/// The checks are split by level so a processor evaluates resource and scope properties once per group.
/// </summary>
internal sealed class MatchProperties
{
    /// <summary>upstream's traceutil.SpanKindStr, by OTLP's enum value (0 = unspecified).</summary>
    public static readonly string[] SpanKindNames =
        ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"];

    /// <summary>upstream's serviceNameForResource when a resource has no service.name.</summary>
    public const string NilServiceName = "<nil-service-name>";

    public StringFilter? Services { get; init; }
    public StringFilter? SpanNames { get; init; }
    public StringFilter? SpanKinds { get; init; }
    public StringFilter? LogBodies { get; init; }
    public StringFilter? LogSeverityTexts { get; init; }
    public SeverityNumberMatch? LogSeverityNumber { get; init; }
    public StringFilter? MetricNames { get; init; }
    public AttributeMatcher[] Attributes { get; init; } = [];
    public AttributeMatcher[] Resources { get; init; } = [];
    public LibraryMatcher[] Libraries { get; init; } = [];

    /// <summary>`services` and `resources`: the part decided by the resource alone.</summary>
    public bool MatchesResource(OtlpResource? resource)
    {
        var attributes = resource?.Attributes;
        if (Services is not null)
        {
            string service = (attributes is null ? null : OtlpItems.ScalarString(OtlpItems.Get(attributes, "service.name"))) ?? NilServiceName;
            if (!Services.Matches(service))
            {
                return false;
            }
        }

        return AttributeMatcher.All(Resources, attributes);
    }

    /// <summary>`libraries`: the part decided by the instrumentation scope alone.</summary>
    public bool MatchesScope(InstrumentationScope? scope)
    {
        foreach (var library in Libraries)
        {
            if (!library.Matches(scope?.Name ?? "", scope?.Version ?? ""))
            {
                return false;
            }
        }

        return true;
    }

    public bool MatchesSpan(Span span) =>
        (SpanNames is null || SpanNames.Matches(span.Name))
        && (SpanKinds is null || SpanKinds.Matches((uint)span.Kind < (uint)SpanKindNames.Length ? SpanKindNames[(int)span.Kind] : ""))
        && AttributeMatcher.All(Attributes, span.Attributes);

    /// <summary>A body matches by its string form (upstream: "only string body types are supported"); a map or array body matches no pattern.</summary>
    public bool MatchesLog(LogRecord log) =>
        (LogBodies is null || (OtlpItems.ScalarString(log.Body) is { } body && LogBodies.Matches(body)))
        && (LogSeverityTexts is null || LogSeverityTexts.Matches(log.SeverityText))
        && (LogSeverityNumber is null || LogSeverityNumber.Matches((int)log.SeverityNumber))
        && AttributeMatcher.All(Attributes, log.Attributes);

    public bool MatchesMetric(Metric metric) => MetricNames is null || MetricNames.Matches(metric.Name);
}

/// <summary>One list of names under `match_type`: strict = equal to one of them, regexp = one of them matches.</summary>
internal sealed class StringFilter
{
    private readonly HashSet<string>? _strict;
    private readonly Regex[]? _regexes;
    private readonly bool _onTimeout;

    public StringFilter(IEnumerable<string> strict) => _strict = new HashSet<string>(strict, StringComparer.Ordinal);

    /// <param name="onTimeout">What a regex timeout answers: chosen by the caller so the actions run (fail closed).</param>
    public StringFilter(Regex[] regexes, bool onTimeout)
    {
        _regexes = regexes;
        _onTimeout = onTimeout;
    }

    public bool Matches(string value) => _strict?.Contains(value) ?? SafeRegex.AnyMatch(_regexes!, value, _onTimeout);
}

/// <summary>`attributes` / `resources` entry: key present, and when a value is given, equal (strict) or matching (regexp).</summary>
internal sealed class AttributeMatcher
{
    public required string Key { get; init; }

    /// <summary>strict: the typed value from the config.</summary>
    public AnyValue? Value { get; init; }

    /// <summary>regexp: matched against the value's string form (string, bool, int, double; other types never match).</summary>
    public StringFilter? Pattern { get; init; }

    /// <summary>upstream's AttributesMatcher.Match: all must hold; no matchers = match; matchers but no attributes = no match.</summary>
    public static bool All(AttributeMatcher[] matchers, RepeatedField<KeyValue>? attributes)
    {
        if (matchers.Length == 0)
        {
            return true;
        }

        if (attributes is null || attributes.Count == 0)
        {
            return false;
        }

        foreach (var matcher in matchers)
        {
            if (!matcher.Matches(attributes))
            {
                return false;
            }
        }

        return true;
    }

    private bool Matches(RepeatedField<KeyValue> attributes)
    {
        var actual = OtlpItems.Get(attributes, Key);
        if (actual is null)
        {
            return false;
        }

        if (Pattern is not null)
        {
            return StringForm(actual) is { } s && Pattern.Matches(s);
        }

        return Value is null || Value.Equals(actual);
    }

    /// <summary>upstream's attributeStringValue: doubles as strconv 'f' -1 (no exponent), arrays, maps and bytes have none.</summary>
    private static string? StringForm(AnyValue value) => value.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => GoFloat(value.DoubleValue),
        _ => null,
    };

    /// <summary>strconv.FormatFloat(d, 'f', -1, 64): the shortest digits that round-trip, never an exponent.</summary>
    private static string GoFloat(double d)
    {
        string shortest = d.ToString("R", CultureInfo.InvariantCulture);
        if (!shortest.Contains('E', StringComparison.Ordinal))
        {
            return shortest;
        }

        // Large magnitudes: "F0" writes the exact integer; small ones: decimal keeps the shortest digits while it can.
        return Math.Abs(d) >= 1 ? d.ToString("F0", CultureInfo.InvariantCulture)
            : Math.Abs(d) >= 1e-28 ? ((decimal)d).ToString(CultureInfo.InvariantCulture)
            : shortest;
    }
}

/// <summary>`libraries` entry: the scope name matches, and the version when one is given (an empty one matches only an empty version).</summary>
internal sealed class LibraryMatcher
{
    public required StringFilter Name { get; init; }

    public StringFilter? Version { get; init; }

    public bool Matches(string name, string version) => Name.Matches(name) && (Version is null || Version.Matches(version));
}

/// <summary>`log_severity_number`: at least <see cref="Min"/>; an unspecified severity (0) matches only with <see cref="MatchUndefined"/>.</summary>
internal sealed record SeverityNumberMatch(int Min, bool MatchUndefined)
{
    public bool Matches(int severity) => severity == 0 ? MatchUndefined : severity >= Min;
}

/// <summary>`include` and `exclude` together: an item is processed when it matches include (if set) and not exclude (if set).</summary>
internal sealed class MatchConfig
{
    public MatchProperties? Include { get; init; }

    public MatchProperties? Exclude { get; init; }

    /// <summary>Every property written under either, for the per-signal check once pipelines are known.</summary>
    public IReadOnlyList<WrittenProperty> Written { get; init; } = [];
}
