using System.Globalization;
using System.Text.RegularExpressions;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace TraceSeal.Query;

/// <summary>Evaluates one <see cref="SpanCondition"/> on a span and its resource.</summary>
internal static class ConditionEvaluator
{
    public static bool Holds(SpanCondition c, Span span, ResourceSpans rs)
    {
        if (c.Scope == ConditionScope.Intrinsic)
        {
            return c.Key switch
            {
                "name" => CompareText(span.Name, c),
                "status" => CompareText(StatusName(span.Status?.Code ?? Status.Types.StatusCode.Unset), c),
                "statusMessage" => CompareText(span.Status?.Message ?? "", c),
                "kind" => CompareText(KindName(span.Kind), c),
                "duration" => CompareNumber(Duration(span), c.Nanos, c.Operator),
                _ => false,
            };
        }

        AnyValue? value = null;
        if (c.Scope is ConditionScope.Span or ConditionScope.Any)
        {
            value = Find(span.Attributes, c.Key);
        }

        if (value is null && c.Scope is ConditionScope.Resource or ConditionScope.Any && rs.Resource is not null)
        {
            value = Find(rs.Resource.Attributes, c.Key);
        }

        if (value is null)
        {
            return false;
        }

        return value.ValueCase switch
        {
            AnyValue.ValueOneofCase.IntValue when double.TryParse(c.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && c.Pattern is null
                => CompareNumber((double)value.IntValue, d, c.Operator),
            AnyValue.ValueOneofCase.DoubleValue when double.TryParse(c.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && c.Pattern is null
                => CompareNumber(value.DoubleValue, d, c.Operator),
            _ => SpanMatcher.Render(value) is { } text && CompareText(text, c),
        };
    }

    public static ulong Duration(Span span) =>
        span.EndTimeUnixNano >= span.StartTimeUnixNano ? span.EndTimeUnixNano - span.StartTimeUnixNano : 0;

    public static string StatusName(Status.Types.StatusCode code) => code switch
    {
        Status.Types.StatusCode.Ok => "ok",
        Status.Types.StatusCode.Error => "error",
        _ => "unset",
    };

    public static string KindName(Span.Types.SpanKind kind) => kind switch
    {
        Span.Types.SpanKind.Internal => "internal",
        Span.Types.SpanKind.Server => "server",
        Span.Types.SpanKind.Client => "client",
        Span.Types.SpanKind.Producer => "producer",
        Span.Types.SpanKind.Consumer => "consumer",
        _ => "unspecified",
    };

    private static AnyValue? Find(IEnumerable<KeyValue> attributes, string key)
    {
        foreach (var kv in attributes)
        {
            if (string.Equals(kv.Key, key, StringComparison.Ordinal))
            {
                return kv.Value;
            }
        }

        return null;
    }

    private static bool CompareText(string text, SpanCondition c)
    {
        try
        {
            return c.Operator switch
            {
                ConditionOperator.Equal => string.Equals(text, c.Value, StringComparison.Ordinal),
                ConditionOperator.NotEqual => !string.Equals(text, c.Value, StringComparison.Ordinal),
                ConditionOperator.Matches => c.Pattern?.IsMatch(text) == true,
                ConditionOperator.NotMatches => c.Pattern?.IsMatch(text) == false,
                ConditionOperator.Greater => string.CompareOrdinal(text, c.Value) > 0,
                ConditionOperator.GreaterOrEqual => string.CompareOrdinal(text, c.Value) >= 0,
                ConditionOperator.Less => string.CompareOrdinal(text, c.Value) < 0,
                ConditionOperator.LessOrEqual => string.CompareOrdinal(text, c.Value) <= 0,
                _ => false,
            };
        }
        catch (RegexMatchTimeoutException e)
        {
            // Fail the query, not the value: "no match" would silently drop traces from the answer (more of them on a
            // busy machine, where the timeout's clock also counts time the thread was not running).
            throw new QueryTooCostlyException(
                $"the regular expression \"{(c.Value.Length <= 64 ? c.Value : c.Value[..64] + "...")}\" took longer than " +
                $"{e.MatchTimeout.TotalMilliseconds:0} ms on one {text.Length}-character value; use a simpler pattern or an exact match (=)");
        }
    }

    private static bool CompareNumber<T>(T left, T right, ConditionOperator op)
        where T : System.Numerics.IComparisonOperators<T, T, bool> => op switch
    {
        ConditionOperator.Equal => left == right,
        ConditionOperator.NotEqual => left != right,
        ConditionOperator.Greater => left > right,
        ConditionOperator.GreaterOrEqual => left >= right,
        ConditionOperator.Less => left < right,
        ConditionOperator.LessOrEqual => left <= right,
        _ => false,
    };
}
