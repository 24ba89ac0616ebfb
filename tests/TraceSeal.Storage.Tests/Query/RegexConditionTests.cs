using System.Text.RegularExpressions;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Query;

namespace TraceSeal.Storage.Tests.Query;

/// <summary>
/// A regular expression that runs out of time on a value fails the query with a message; it does not count as
/// "no match" (that dropped traces from a Tempo search silently, on a machine busy enough to stretch the timeout).
/// </summary>
public sealed class RegexConditionTests
{
    [Fact]
    public void A_match_that_times_out_fails_the_query_with_a_message()
    {
        // A one-tick timeout over a 4M-character value: the engine's periodic timeout check cannot miss it.
        var pattern = new Regex("a.*b", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, TimeSpan.FromTicks(1));
        var condition = new SpanCondition(ConditionScope.Intrinsic, "name", ConditionOperator.Matches, "a.*b") { Pattern = pattern };
        var span = new Span { Name = new string('a', 4 * 1024 * 1024) };

        var e = Assert.Throws<QueryTooCostlyException>(() => ConditionEvaluator.Holds(condition, span, new ResourceSpans()));
        Assert.StartsWith("the regular expression \"a.*b\" took longer than 0 ms on one 4194304-character value", e.Message);
    }

    [Theory]
    [InlineData(ConditionOperator.Matches, "POST.*", true)]
    [InlineData(ConditionOperator.Matches, "GET.*", false)]
    [InlineData(ConditionOperator.NotMatches, "GET.*", true)]
    public void A_match_within_its_time_answers(ConditionOperator op, string regex, bool holds)
    {
        var pattern = new Regex(regex, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, TimeSpan.FromSeconds(1));
        var condition = new SpanCondition(ConditionScope.Intrinsic, "name", op, regex) { Pattern = pattern };
        Assert.Equal(holds, ConditionEvaluator.Holds(condition, new Span { Name = "POST /cart" }, new ResourceSpans()));
    }
}
