using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using static TraceSeal.Collector.Tests.Processors.TransformHarness;

namespace TraceSeal.Collector.Tests.Processors;

/// <summary>`redaction` with upstream's keys, on protobuf bytes: allow list, blocked values, masking or keyed hashing, summary.</summary>
public sealed class RedactionProcessorTests : IDisposable
{
    private readonly TransformHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void keys_not_allowed_are_removed_everywhere_and_the_debug_summary_names_them()
    {
        var result = _h.Traces("""
              redaction:
                allowed_keys: [service.name, http.method]
                summary: debug
            """, Trace(Attr("http.method", "POST"), Attr("user.email", "alice@example.com"), Attr("session", "s3cr3t")), "redaction");

        Assert.Equal(["http.method=POST", "redaction.redacted.keys=session,user.email", "redaction.redacted.count=int:2"], Show(OnlySpan(result).Attributes));
        Assert.Equal(["service.name=checkout", "redaction.redacted.keys=host.name", "redaction.redacted.count=int:1"], Show(result.ResourceSpans[0].Resource.Attributes));
        // Event and link attributes are scrubbed too (upstream leaves links alone).
        Assert.Equal(["redaction.redacted.keys=user.email", "redaction.redacted.count=int:1"], Show(OnlySpan(result).Events[0].Attributes));
        Assert.Equal(["redaction.redacted.keys=user.email", "redaction.redacted.count=int:1"], Show(OnlySpan(result).Links[0].Attributes));
        Assert.DoesNotContain("example.com", result.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void an_empty_allow_list_fails_closed_and_the_default_summary_is_silent()
    {
        var result = _h.Traces("""
              redaction:
            """, Trace(Attr("user.email", "alice@example.com")), "redaction");

        Assert.Empty(OnlySpan(result).Attributes);
        Assert.Empty(result.ResourceSpans[0].Resource.Attributes);
        Assert.Empty(result.ResourceSpans[0].ScopeSpans[0].Scope.Attributes);
    }

    [Fact]
    public void blocked_values_mask_each_match_and_allowed_values_and_ignored_keys_pass()
    {
        var result = _h.Traces("""
              redaction:
                allow_all_keys: true
                ignored_keys: [debug.raw]
                blocked_values:
                  - "4[0-9]{12}(?:[0-9]{3})?"
                  - "[a-z]+@[a-z.]+"
                allowed_values: [".+@mycompany\\.com"]
                summary: info
            """, Trace(
                Attr("note", "card 4111111111111111 and 4012888888881881 on file"),
                Attr("contact", "alice@example.com"),
                Attr("owner", "ops@mycompany.com"),
                Attr("debug.raw", "4111111111111111")), "redaction");

        Assert.Equal(
            ["note=card **** and **** on file", "contact=****", "owner=ops@mycompany.com", "debug.raw=4111111111111111",
                "redaction.masked.count=int:2", "redaction.allowed.count=int:1", "redaction.ignored.count=int:1"],
            Show(OnlySpan(result).Attributes));
    }

    [Fact]
    public void blocked_key_patterns_mask_the_whole_value_of_any_type()
    {
        var result = _h.Traces("""
              redaction:
                allow_all_keys: true
                blocked_key_patterns: [".*token.*", "^pin$"]
            """, Trace(Attr("auth.token", "eyJhbGciOiJIUzI1NiJ9"), Attr("pin", 1234), Attr("tokenless", "x")), "redaction");

        Assert.Equal(["auth.token=****", "pin=****", "tokenless=****"], Show(OnlySpan(result).Attributes));
    }

    [Fact]
    public void hmac_sha256_replaces_each_match_with_its_keyed_hash()
    {
        byte[] key = _h.WriteKey();
        var result = _h.Traces("""
              redaction:
                allow_all_keys: true
                blocked_values: ["[0-9]{3}-[0-9]{2}-[0-9]{4}"]
                hash_function: hmac-sha256
                hash_key_file: hash.key
            """, Trace(Attr("customer", "ssn 078-05-1120 verified")), "redaction");

        Assert.Equal($"ssn {Hmac(key, "078-05-1120")} verified", OnlySpan(result).Attributes[0].Value.StringValue);
    }

    [Fact]
    public void strings_inside_array_and_map_values_are_checked_too()
    {
        var emails = new AnyValue { ArrayValue = new ArrayValue { Values = { new AnyValue { StringValue = "alice@example.com" }, new AnyValue { IntValue = 1 } } } };
        var headers = new AnyValue { KvlistValue = new KeyValueList { Values = { Attr("x-user", "bob@example.com") } } };

        var result = _h.Traces("""
              redaction:
                allow_all_keys: true
                blocked_values: ["[a-z]+@[a-z.]+"]
            """, Trace(new KeyValue { Key = "emails", Value = emails }, new KeyValue { Key = "headers", Value = headers }), "redaction");

        var attributes = OnlySpan(result).Attributes;
        Assert.Equal("****", attributes[0].Value.ArrayValue.Values[0].StringValue);
        Assert.Equal(1, attributes[0].Value.ArrayValue.Values[1].IntValue);
        Assert.Equal("****", attributes[1].Value.KvlistValue.Values[0].Value.StringValue);
    }

    [Fact]
    public void log_bodies_are_redacted_as_upstream_with_body_summary_names()
    {
        var mapBody = new AnyValue
        {
            KvlistValue = new KeyValueList
            {
                Values = { Attr("message", "login from alice@example.com"), Attr("password", "hunter2") },
            },
        };
        const string Processors = """
              redaction:
                allowed_keys: [message]
                blocked_values: ["[a-z]+@[a-z.]+"]
                summary: debug
            """;

        var text = _h.Logs(Processors, Log(new AnyValue { StringValue = "reset sent to alice@example.com" }), "redaction");
        var map = _h.Logs(Processors, Log(mapBody), "redaction");

        var textRecord = text.ResourceLogs[0].ScopeLogs[0].LogRecords[0];
        Assert.Equal("reset sent to ****", textRecord.Body.StringValue);
        Assert.Equal(["redaction.body.masked.keys=body", "redaction.body.masked.count=int:1"], Show(textRecord.Attributes));
        var mapRecord = map.ResourceLogs[0].ScopeLogs[0].LogRecords[0];
        Assert.Equal(["message=login from ****"], Show(mapRecord.Body.KvlistValue.Values));
        Assert.Equal(
            ["redaction.body.redacted.keys=password", "redaction.body.redacted.count=int:1", "redaction.body.masked.keys=message", "redaction.body.masked.count=int:1"],
            Show(mapRecord.Attributes));
    }

    [Fact]
    public void metric_data_point_attributes_are_redacted()
    {
        var result = _h.Metrics("""
              redaction:
                allowed_keys: [route]
            """, Gauge(Attr("route", "/cart"), Attr("user.id", "u-1")), "redaction");

        Assert.Equal(["route=/cart"], Show(result.ResourceMetrics[0].ScopeMetrics[0].Metrics[0].Gauge.DataPoints[0].Attributes));
    }

    [Fact]
    public void a_summary_from_an_earlier_redaction_is_kept_and_merged_by_the_next()
    {
        var result = _h.Traces("""
              redaction/first:
                allowed_keys: [a, b]
                summary: debug
              redaction/second:
                allowed_keys: [a]
                summary: debug
            """, Trace(Attr("a", "1"), Attr("b", "2"), Attr("c", "3")), "redaction/first", "redaction/second");

        Assert.Equal(["a=1", "redaction.redacted.keys=b,c", "redaction.redacted.count=int:2"], Show(OnlySpan(result).Attributes));
    }

    [Fact]
    public void a_pattern_that_would_backtrack_catastrophically_runs_in_linear_time()
    {
        // (a+)+$ takes exponential time in a backtracking engine on "aaa…!"; NonBacktracking answers at once.
        string hostile = new string('a', 50_000) + "!";
        var result = _h.Traces("""
              redaction:
                allow_all_keys: true
                blocked_values: ["(a+)+$"]
            """, Trace(Attr("hostile", hostile), Attr("ends", "xaaa")), "redaction");

        Assert.Equal(hostile, OnlySpan(result).Attributes[0].Value.StringValue);
        Assert.Equal("x****", OnlySpan(result).Attributes[1].Value.StringValue);
    }

    [Fact]
    public void the_rewritten_request_keeps_ids_and_times_and_validates()
    {
        var input = Trace(Attr("user.email", "alice@example.com"));

        var result = _h.Traces("""
              redaction:
                allowed_keys: [service.name]
            """, input, "redaction");

        var before = OnlySpan(input);
        var after = OnlySpan(result);
        Assert.Equal(before.TraceId, after.TraceId);
        Assert.Equal(before.SpanId, after.SpanId);
        Assert.Equal(before.StartTimeUnixNano, after.StartTimeUnixNano);
        Assert.Equal(before.Name, after.Name);
        Assert.True(Otlp.OtlpValidator.TryValidate(result.ToByteArray(), Otlp.OtlpSignal.Traces, out var summary, out _));
        Assert.Equal(1, summary.ItemCount);
    }
}
