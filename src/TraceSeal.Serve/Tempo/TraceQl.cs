using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using TraceSeal.Collector.Config;
using TraceSeal.Query;

namespace TraceSeal.Serve.Tempo;

/// <summary>
/// The TraceQL subset `serve` answers: one spanset `{ cond && cond ... }` (or `{}`), where a condition is
/// <c>FIELD OP VALUE</c>: FIELD is <c>name</c>, <c>status</c>, <c>statusMessage</c>, <c>kind</c>, <c>duration</c>,
/// <c>span.KEY</c>, <c>resource.KEY</c> or <c>.KEY</c> (either scope); OP is = != &gt; &gt;= &lt; &lt;= =~ !~;
/// VALUE is a "string", a number, a duration (100ms), true/false, or a bare status/kind (error, ok, unset, server, ...).
/// Anything else (||, pipelines, aggregates, structural operators, several spansets) is an error naming what is not supported.
/// </summary>
internal static class TraceQl
{
    /// <summary>A query longer than this is refused before it is read (a URL carries it; nothing legitimate is this long).</summary>
    public const int MaxLength = 4096;

    public const int MaxConditions = 32;

    /// <summary>
    /// Per value matched. The patterns run non-backtracking (time linear in the value), so this only bounds a huge
    /// value or a huge pattern; a timeout fails the query with a message (QueryTooCostlyException), never "no match".
    /// Generous on purpose: the clock also runs while the thread waits for a core (50 ms failed a test at load 35).
    /// </summary>
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(1);

    private static readonly string[] Intrinsics = ["name", "status", "statusMessage", "kind", "duration"];

    /// <summary>Adds the conditions of <paramref name="q"/> to <paramref name="query"/>; false with a message when it is not in the subset.</summary>
    public static bool TryApply(string q, TraceQuery query, out TraceQuery result, out string error)
    {
        result = query;
        error = "";
        if (q.Length > MaxLength)
        {
            error = $"q: longer than {MaxLength} characters";
            return false;
        }

        var text = q.Trim();
        if (text.Length == 0)
        {
            return true;
        }

        if (text[0] != '{' || text[^1] != '}' || text.IndexOf('}') != text.Length - 1)
        {
            error = "q: only one spanset { ... } is supported (no pipelines, structural operators or several spansets)";
            return false;
        }

        var conditions = new List<SpanCondition>(query.Conditions);
        int pos = 1;
        var body = text[..^1];
        SkipSpace(body, ref pos);
        if (pos == body.Length)
        {
            return true; // {} : every span
        }

        while (true)
        {
            if (!TryCondition(body, ref pos, out var condition, out error))
            {
                return false;
            }

            conditions.Add(condition);
            if (conditions.Count > MaxConditions)
            {
                error = $"q: more than {MaxConditions} conditions";
                return false;
            }

            SkipSpace(body, ref pos);
            if (pos == body.Length)
            {
                break;
            }

            if (string.CompareOrdinal(body, pos, "&&", 0, 2) != 0)
            {
                error = body.AsSpan(pos).StartsWith("||") ? "q: || is not supported; only && joins conditions" : $"q: expected && at offset {pos}";
                return false;
            }

            pos += 2;
        }

        result = Narrow(query with { Conditions = conditions });
        return true;
    }

    /// <summary>Equalities the store's index can prune by (service, span name, status, duration bounds) are also set as plain filters.</summary>
    private static TraceQuery Narrow(TraceQuery query)
    {
        foreach (var c in query.Conditions)
        {
            if (c.Operator == ConditionOperator.Equal && c.Scope == ConditionScope.Resource && c.Key == "service.name" && query.Service is null)
            {
                query = query with { Service = c.Value };
            }
            else if (c.Operator == ConditionOperator.Equal && c.Scope == ConditionScope.Intrinsic && c.Key == "name" && query.SpanName is null)
            {
                query = query with { SpanName = c.Value };
            }
            else if (c.Scope == ConditionScope.Intrinsic && c.Key == "duration" && c.Operator is ConditionOperator.Greater or ConditionOperator.GreaterOrEqual && query.MinDuration is null)
            {
                query = query with { MinDuration = TimeSpan.FromTicks((long)(c.Nanos / 100)) };
            }
            else if (c.Scope == ConditionScope.Intrinsic && c.Key == "duration" && c.Operator is ConditionOperator.Less or ConditionOperator.LessOrEqual && query.MaxDuration is null)
            {
                query = query with { MaxDuration = TimeSpan.FromTicks((long)((c.Nanos + 99) / 100)) };
            }
        }

        return query;
    }

    private static bool TryCondition(string s, ref int pos, out SpanCondition condition, out string error)
    {
        condition = null!;
        SkipSpace(s, ref pos);
        int start = pos;
        while (pos < s.Length && (char.IsAsciiLetterOrDigit(s[pos]) || s[pos] is '.' or '_' or '-' or '/' or ':'))
        {
            pos++;
        }

        var field = s[start..pos];
        ConditionScope scope;
        string key;
        if (field.StartsWith("span.", StringComparison.Ordinal) && field.Length > 5)
        {
            (scope, key) = (ConditionScope.Span, field[5..]);
        }
        else if (field.StartsWith("resource.", StringComparison.Ordinal) && field.Length > 9)
        {
            (scope, key) = (ConditionScope.Resource, field[9..]);
        }
        else if (field.StartsWith('.') && field.Length > 1)
        {
            (scope, key) = (ConditionScope.Any, field[1..]);
        }
        else if (Array.IndexOf(Intrinsics, field) >= 0)
        {
            (scope, key) = (ConditionScope.Intrinsic, field);
        }
        else
        {
            error = field.Length == 0
                ? $"q: expected a field at offset {start}"
                : $"q: \"{Clip(field)}\" is not supported; use name, status, statusMessage, kind, duration, span.KEY, resource.KEY or .KEY";
            return false;
        }

        SkipSpace(s, ref pos);
        if (!TryOperator(s, ref pos, out var op))
        {
            error = $"q: expected an operator (= != > >= < <= =~ !~) after {Clip(field)}";
            return false;
        }

        SkipSpace(s, ref pos);
        if (!TryValue(s, ref pos, out var value, out bool quoted))
        {
            error = $"q: expected a value after {Clip(field)}";
            return false;
        }

        ulong nanos = 0;
        if (scope == ConditionScope.Intrinsic && key == "duration")
        {
            if (quoted || !GoDuration.TryParse(value, out var d) || d < TimeSpan.Zero)
            {
                error = $"q: duration needs a duration such as 100ms or 1.5s, not \"{Clip(value)}\"";
                return false;
            }

            nanos = (ulong)d.Ticks * 100UL;
        }
        else if (scope == ConditionScope.Intrinsic && key is "status" or "kind" && op is not (ConditionOperator.Equal or ConditionOperator.NotEqual))
        {
            error = $"q: {key} supports = and != only";
            return false;
        }

        Regex? pattern = null;
        if (op is ConditionOperator.Matches or ConditionOperator.NotMatches)
        {
            try
            {
                pattern = new Regex(value, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, RegexTimeout);
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException)
            {
                error = $"q: \"{Clip(value)}\" is not a supported regular expression";
                return false;
            }
        }

        condition = new SpanCondition(scope, key, op, value) { Nanos = nanos, Pattern = pattern };
        error = "";
        return true;
    }

    private static bool TryOperator(string s, ref int pos, out ConditionOperator op)
    {
        string rest = s[pos..];
        (string Text, ConditionOperator Op)[] ops =
        [
            ("=~", ConditionOperator.Matches), ("!~", ConditionOperator.NotMatches), ("!=", ConditionOperator.NotEqual),
            (">=", ConditionOperator.GreaterOrEqual), ("<=", ConditionOperator.LessOrEqual), ("=", ConditionOperator.Equal),
            (">", ConditionOperator.Greater), ("<", ConditionOperator.Less),
        ];
        foreach (var (text, candidate) in ops)
        {
            if (rest.StartsWith(text, StringComparison.Ordinal))
            {
                pos += text.Length;
                op = candidate;
                return true;
            }
        }

        op = default;
        return false;
    }

    private static bool TryValue(string s, ref int pos, out string value, out bool quoted)
    {
        quoted = false;
        value = "";
        if (pos >= s.Length)
        {
            return false;
        }

        if (s[pos] is '"' or '`')
        {
            char quote = s[pos++];
            var sb = new StringBuilder();
            while (pos < s.Length && s[pos] != quote)
            {
                if (s[pos] == '\\' && quote == '"' && pos + 1 < s.Length)
                {
                    pos++;
                }

                sb.Append(s[pos++]);
            }

            if (pos >= s.Length)
            {
                return false; // unterminated
            }

            pos++;
            quoted = true;
            value = sb.ToString();
            return true;
        }

        int start = pos;
        while (pos < s.Length && (char.IsAsciiLetterOrDigit(s[pos]) || s[pos] is '.' or '-' or '+' or '_'))
        {
            pos++;
        }

        value = s[start..pos];
        return value.Length > 0;
    }

    private static void SkipSpace(string s, ref int pos)
    {
        while (pos < s.Length && char.IsWhiteSpace(s[pos]))
        {
            pos++;
        }
    }

    /// <summary>Echoed input is clipped: an error message is not a way to reflect a whole URL back.</summary>
    private static string Clip(string s) => s.Length <= 64 ? s : s[..64] + "…";

    /// <summary>Tempo's `tags=` parameter: logfmt (key=value key2="quoted value"), Tempo's special keys included.</summary>
    public static bool TryApplyTags(string tags, TraceQuery query, out TraceQuery result, out string error)
    {
        result = query;
        error = "";
        if (tags.Length > MaxLength)
        {
            error = $"tags: longer than {MaxLength} characters";
            return false;
        }

        var attributes = new List<KeyValuePair<string, string>>(query.Attributes);
        int pos = 0;
        while (true)
        {
            SkipSpace(tags, ref pos);
            if (pos >= tags.Length)
            {
                break;
            }

            int start = pos;
            while (pos < tags.Length && tags[pos] != '=' && !char.IsWhiteSpace(tags[pos]))
            {
                pos++;
            }

            var key = tags[start..pos];
            if (key.Length == 0 || pos >= tags.Length || tags[pos] != '=')
            {
                error = $"tags: \"{Clip(key)}\" is not key=value (logfmt)";
                return false;
            }

            pos++;
            string value;
            if (pos < tags.Length && tags[pos] == '"')
            {
                if (!TryValue(tags, ref pos, out value, out _))
                {
                    error = "tags: unterminated quoted value";
                    return false;
                }
            }
            else
            {
                int vs = pos;
                while (pos < tags.Length && !char.IsWhiteSpace(tags[pos]))
                {
                    pos++;
                }

                value = tags[vs..pos];
            }

            switch (key)
            {
                case "service.name" when result.Service is null:
                    result = result with { Service = value };
                    break;
                case "name" or "span.name" when result.SpanName is null:
                    result = result with { SpanName = value };
                    break;
                case "status.code" or "status":
                    if (!TryStatus(value, out var status))
                    {
                        error = $"tags: {key}: \"{Clip(value)}\" is not error, ok or unset";
                        return false;
                    }

                    result = result with { Status = status };
                    break;
                case "error" when value == "true":
                    result = result with { Status = SpanStatus.Error };
                    break;
                default:
                    attributes.Add(new(key, value));
                    break;
            }

            if (attributes.Count > MaxConditions)
            {
                error = $"tags: more than {MaxConditions} tags";
                return false;
            }
        }

        result = result with { Attributes = attributes };
        return true;
    }

    private static bool TryStatus(string text, out SpanStatus status)
    {
        switch (text.ToLowerInvariant())
        {
            case "error" or "2" or "status_code_error":
                status = SpanStatus.Error;
                return true;
            case "ok" or "1" or "status_code_ok":
                status = SpanStatus.Ok;
                return true;
            case "unset" or "0" or "status_code_unset":
                status = SpanStatus.Unset;
                return true;
            default:
                status = default;
                return false;
        }
    }

    /// <summary>Tempo's start/end: Unix epoch seconds.</summary>
    public static bool TryEpochSeconds(string? text, out DateTimeOffset? time)
    {
        time = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds <= 253402300799)
        {
            time = DateTimeOffset.FromUnixTimeSeconds(seconds);
            return true;
        }

        return false;
    }
}
