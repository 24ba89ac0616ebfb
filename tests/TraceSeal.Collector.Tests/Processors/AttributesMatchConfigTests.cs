namespace TraceSeal.Collector.Tests.Processors;

/// <summary>Bad `include` / `exclude` and `from_context`: one line each, with its position, naming the key, the cause and the fix.</summary>
public sealed class AttributesMatchConfigTests : IDisposable
{
    // The processors block starts on line 7 of TransformHarness.Config: the first processor key is at 7:3.
    private readonly TransformHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string At(int line, int column, string message) => _h.At(line, column, message);

    private string[] Errors(string processors, params string[] ids) => _h.OneLineErrors(processors, ids);

    [Fact]
    public void regexp_without_match_type_an_unknown_key_and_a_pattern_that_is_not_a_string()
    {
        var errors = Errors("""
              attributes:
                include:
                  services: ["auth.*"]
                  span_name: [login]
                exclude:
                  match_type: regexp
                  attributes: [{key: http.status_code, value: 500}]
                  libraries: [{version: "1.0"}]
                actions:
                  - {key: password, action: delete}
            """, "attributes");

        Assert.Equal(
            [
                At(8, 5, "processors::attributes::include::match_type: required: strict (names compared as written) or regexp (names are regular expressions, unanchored)"),
                At(10, 7, "processors::attributes::include: unknown key \"span_name\" (supported: match_type, regexp, services, span_names, span_kinds, attributes, resources, libraries, log_bodies, log_severity_texts, log_severity_number, metric_names)"),
                At(13, 51, "processors::attributes::exclude::attributes[0]::value: match_type regexp compares \"http.status_code\" by a pattern, which must be a string, found an int; quote it: \"500\""),
                At(14, 19, "processors::attributes::exclude::libraries[0]: name is required: the instrumentation scope (library) name"),
            ],
            errors);
    }

    [Fact]
    public void empty_blocks_unknown_match_types_span_kinds_and_severities_are_refused()
    {
        var errors = Errors("""
              attributes:
                include:
                exclude:
                  match_type: exact
                  regexp: {cacheenabled: true}
                actions:
                  - {key: password, action: delete}
              attributes/kinds:
                include:
                  match_type: strict
                  span_kinds: [client, SPAN_KIND_SERVER]
                exclude:
                  match_type: strict
                  log_severity_number: {min: LOUD}
                actions:
                  - {key: password, action: delete}
              attributes/bad-regex:
                include:
                  match_type: regexp
                  span_names: ["(a)\\1"]
                actions:
                  - {key: password, action: delete}
            """, "attributes", "attributes/kinds", "attributes/bad-regex");

        Assert.Equal(
            [
                At(8, 5, "processors::attributes::include: empty: set match_type (strict or regexp) and at least one of services, span_names, span_kinds, attributes, resources, libraries, log_bodies, log_severity_texts, log_severity_number, metric_names"),
                At(9, 5, "processors::attributes::exclude: at least one of services, span_names, span_kinds, attributes, resources, libraries, log_bodies, log_severity_texts, log_severity_number, metric_names is required: what an item must have to be left alone"),
                At(10, 19, "processors::attributes::exclude::match_type: unsupported value \"exact\" (supported: strict, regexp)"),
                At(17, 20, "processors::attributes/kinds::include::span_kinds[0]: unknown span kind \"client\" (with match_type strict: SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, SPAN_KIND_CLIENT, SPAN_KIND_PRODUCER, SPAN_KIND_CONSUMER)"),
                At(20, 34, "processors::attributes/kinds::exclude::log_severity_number::min: unknown severity \"LOUD\": 1-24 or a name (TRACE, DEBUG, INFO, WARN, ERROR, FATAL, optionally followed by 2-4)"),
                At(26, 20, "processors::attributes/bad-regex::include::span_names[0]: \"(a)\\1\" needs backtracking (a backreference, lookaround or atomic group); upstream's RE2 syntax has none of these, rewrite it without"),
            ],
            errors);
    }

    [Fact]
    public void a_property_the_pipelines_signal_does_not_have_names_the_pipeline()
    {
        var errors = _h.Fixture.Errors("""
            receivers:
              otlp:
                protocols:
                  grpc:
                    allow_plaintext: true
            processors:
              attributes:
                include:
                  match_type: strict
                  services: [checkout]
                  log_bodies: [hello]
                actions:
                  - {key: password, action: delete}
            exporters:
              discard:
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  processors: [attributes]
                  exporters: [discard]
                logs:
                  receivers: [otlp]
                  processors: [attributes]
                  exporters: [discard]
                metrics:
                  receivers: [otlp]
                  processors: [attributes]
                  exporters: [discard]
            """);

        Assert.Equal(
            [
                At(10, 7, "processors::attributes::include::services: not valid for log records (pipeline \"logs\" uses this processor); log records match on attributes, resources, libraries, log_bodies, log_severity_texts, log_severity_number"),
                At(10, 7, "processors::attributes::include::services: not valid for metrics (pipeline \"metrics\" uses this processor); metrics match on metric_names, resources"),
                At(11, 7, "processors::attributes::include::log_bodies: not valid for spans (pipeline \"traces\" uses this processor); spans match on services, span_names, span_kinds, attributes, resources, libraries"),
                At(11, 7, "processors::attributes::include::log_bodies: not valid for metrics (pipeline \"metrics\" uses this processor); metrics match on metric_names, resources"),
            ],
            errors);
    }

    [Fact]
    public void from_context_keys_that_do_not_travel_with_a_batch_are_refused_with_the_ones_that_do()
    {
        var errors = Errors("""
              attributes:
                actions:
                  - {key: tenant, from_context: metadata.tenant, action: insert}
                  - {key: addr, from_context: client.address, action: insert}
                  - {key: sub, from_context: auth.subject, action: insert}
                  - {key: both, value: x, from_context: auth.identity, action: upsert}
                  - {key: gone, from_context: auth.identity, action: delete}
            """, "attributes");

        const string Supported = "supported: auth.identity (the client certificate's identity) and auth.tenant (the tenant its identity rules chose)";
        Assert.Equal(
            [
                At(9, 37, "processors::attributes::actions[0]::from_context: \"metadata.tenant\" is not available: TraceSeal's receivers hand processors no request headers (include_metadata is not supported); " + Supported),
                At(10, 35, "processors::attributes::actions[1]::from_context: \"client.address\" is not available: the client address does not travel with a batch; " + Supported),
                At(11, 34, "processors::attributes::actions[2]::from_context: \"auth.subject\" is not available: the mutual-TLS authenticator sets only the identity and the tenant; " + Supported),
                At(12, 31, "processors::attributes::actions[3]::from_context: set only one of value, from_attribute and from_context"),
                At(13, 21, "processors::attributes::actions[4]::from_context: not used by action delete; remove it"),
            ],
            errors);
    }
}
