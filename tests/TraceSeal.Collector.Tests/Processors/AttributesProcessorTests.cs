using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using TraceSeal.Otlp;
using static TraceSeal.Collector.Tests.Processors.TransformHarness;

namespace TraceSeal.Collector.Tests.Processors;

/// <summary>Each upstream action of `attributes` on protobuf bytes: what the exporters get after the rewrite.</summary>
public sealed class AttributesProcessorTests : IDisposable
{
    private readonly TransformHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void insert_adds_a_typed_value_only_where_the_key_is_absent()
    {
        var result = _h.Traces("""
              attributes:
                actions:
                  - {key: account_id, value: 2245, action: insert}
                  - {key: region, value: "eu-west-1", action: INSERT}
                  - {key: http.method, value: PUT, action: insert}
            """, Trace(Attr("http.method", "POST")), "attributes");

        Assert.Equal(["http.method=POST", "account_id=int:2245", "region=eu-west-1"], Show(OnlySpan(result).Attributes));
    }

    [Fact]
    public void update_changes_only_existing_keys_and_can_copy_from_another_attribute()
    {
        var result = _h.Traces("""
              attributes:
                actions:
                  - {key: db.statement, from_attribute: db.operation, action: update}
                  - {key: absent, value: x, action: update}
            """, Trace(Attr("db.statement", "SELECT * FROM users WHERE ssn = '078-05-1120'"), Attr("db.operation", "SELECT")), "attributes");

        Assert.Equal(["db.statement=SELECT", "db.operation=SELECT"], Show(OnlySpan(result).Attributes));
    }

    [Fact]
    public void upsert_writes_whether_or_not_the_key_exists_and_default_value_fills_a_missing_source()
    {
        var result = _h.Traces("""
              attributes:
                actions:
                  - {key: redacted_span, value: true, action: upsert}
                  - {key: tier, value: gold, action: upsert}
                  - {key: region, from_attribute: cloud.region, default_value: us-east-1, action: upsert}
            """, Trace(Attr("tier", "free")), "attributes");

        Assert.Equal(["tier=gold", "redacted_span=true", "region=us-east-1"], Show(OnlySpan(result).Attributes));
        Assert.Equal(AnyValue.ValueOneofCase.BoolValue, OnlySpan(result).Attributes[1].Value.ValueCase);
    }

    [Fact]
    public void delete_removes_by_key_and_by_pattern_and_every_duplicate()
    {
        var result = _h.Traces("""
              attributes:
                actions:
                  - {key: account_password, action: delete}
                  - {pattern: ^auth\.token, action: delete}
            """, Trace(Attr("account_password", "hunter2"), Attr("auth.token.bearer", "eyJhbGciOi"), Attr("keep", "yes"), Attr("account_password", "again")), "attributes");

        Assert.Equal(["keep=yes"], Show(OnlySpan(result).Attributes));
    }

    [Fact]
    public void hash_writes_the_hmac_sha256_of_the_value_under_the_key_file()
    {
        byte[] key = _h.WriteKey();
        var result = _h.Traces("""
              attributes:
                hash_key_file: hash.key
                actions:
                  - {key: user.email, action: hash}
                  - {pattern: ^user\.id$, action: hash}
            """, Trace(Attr("user.email", "alice@example.com"), Attr("user.id", 42)), "attributes");

        var attributes = OnlySpan(result).Attributes;
        Assert.Equal(Hmac(key, "alice@example.com"), attributes[0].Value.StringValue);
        // An int hashes as its 8 little-endian bytes, as upstream's hasher takes it.
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(key, BitConverter.GetBytes(42L))), attributes[1].Value.StringValue);
        Assert.DoesNotContain("alice", OnlySpan(result).Attributes.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void extract_turns_named_groups_into_attributes_written_in_go_syntax()
    {
        var result = _h.Traces("""
              attributes:
                actions:
                  - key: http.url
                    pattern: ^https://[^/]+/api/(?P<api_version>v[0-9]+)/users/(?P<user_id>[0-9]+)
                    action: extract
            """, Trace(Attr("http.url", "https://shop.example/api/v2/users/1234/orders")), "attributes");

        Assert.Equal(["http.url=https://shop.example/api/v2/users/1234/orders", "api_version=v2", "user_id=1234"], Show(OnlySpan(result).Attributes));
    }

    [Fact]
    public void convert_changes_the_type_and_leaves_values_that_do_not_parse()
    {
        var result = _h.Traces("""
              attributes:
                actions:
                  - {key: http.status_code, action: convert, converted_type: int}
                  - {key: retries, action: convert, converted_type: string}
                  - {key: bad, action: convert, converted_type: double}
            """, Trace(Attr("http.status_code", "503"), Attr("retries", 3), Attr("bad", "n/a")), "attributes");

        Assert.Equal(["http.status_code=int:503", "retries=3", "bad=n/a"], Show(OnlySpan(result).Attributes));
        Assert.Equal(AnyValue.ValueOneofCase.StringValue, OnlySpan(result).Attributes[1].Value.ValueCase);
    }

    [Fact]
    public void span_attributes_change_but_resource_event_and_link_attributes_do_not_as_upstream()
    {
        var result = _h.Traces("""
              attributes:
                actions:
                  - {key: user.email, action: delete}
                  - {key: service.name, action: delete}
            """, Trace(Attr("user.email", "alice@example.com")), "attributes");

        var span = OnlySpan(result);
        Assert.Empty(span.Attributes);
        Assert.Equal("alice@example.com", span.Events[0].Attributes[0].Value.StringValue);
        Assert.Equal("bob@example.com", span.Links[0].Attributes[0].Value.StringValue);
        Assert.Equal(["service.name=checkout", "host.name=web-1"], Show(result.ResourceSpans[0].Resource.Attributes));
    }

    [Fact]
    public void log_record_and_data_point_attributes_are_acted_on()
    {
        const string Processors = """
              attributes:
                actions:
                  - {key: user.email, action: delete}
                  - {key: env, value: prod, action: insert}
            """;

        var logs = _h.Logs(Processors, Log(new AnyValue { StringValue = "signed in" }, Attr("user.email", "alice@example.com")), "attributes");
        var metrics = _h.Metrics(Processors, Gauge(Attr("user.email", "alice@example.com")), "attributes");

        Assert.Equal(["env=prod"], Show(logs.ResourceLogs[0].ScopeLogs[0].LogRecords[0].Attributes));
        Assert.Equal(["env=prod"], Show(metrics.ResourceMetrics[0].ScopeMetrics[0].Metrics[0].Gauge.DataPoints[0].Attributes));
    }

    [Fact]
    public void actions_that_match_nothing_leave_the_received_bytes_as_they_are()
    {
        byte[] payload = Trace(Attr("http.method", "GET")).ToByteArray();

        byte[] result = _h.Rewrite("""
              attributes:
                actions:
                  - {key: user.email, action: delete}
            """, payload, OtlpSignal.Traces, "attributes");

        Assert.Same(payload, result);
    }
}
