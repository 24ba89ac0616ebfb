using OpenTelemetry.Proto.Common.V1;
using static TraceSeal.Collector.Tests.Processors.TransformHarness;

namespace TraceSeal.Collector.Tests.Processors;

/// <summary>`resource`: upstream's actions under `attributes`, on the resource of every signal.</summary>
public sealed class ResourceProcessorTests : IDisposable
{
    private const string Processors = """
          resource:
            attributes:
              - {key: deployment.environment, value: production, action: upsert}
              - {key: host.name, action: delete}
        """;

    private readonly TransformHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void resource_attributes_of_traces_logs_and_metrics_change_and_span_attributes_do_not()
    {
        var traces = _h.Traces(Processors, Trace(Attr("host.name", "span-level")), "resource");
        var logs = _h.Logs(Processors, Log(new AnyValue { StringValue = "x" }), "resource");
        var metrics = _h.Metrics(Processors, Gauge(), "resource");

        Assert.Equal(["service.name=checkout", "deployment.environment=production"], Show(traces.ResourceSpans[0].Resource.Attributes));
        Assert.Equal(["host.name=span-level"], Show(OnlySpan(traces).Attributes));
        Assert.Equal(["service.name=checkout", "deployment.environment=production"], Show(logs.ResourceLogs[0].Resource.Attributes));
        Assert.Equal(["service.name=checkout", "deployment.environment=production"], Show(metrics.ResourceMetrics[0].Resource.Attributes));
    }

    [Fact]
    public void a_resource_group_without_a_resource_gets_one_to_insert_into()
    {
        var request = Trace();
        request.ResourceSpans[0].Resource = null;

        var result = _h.Traces(Processors, request, "resource");

        Assert.Equal(["deployment.environment=production"], Show(result.ResourceSpans[0].Resource.Attributes));
    }

    [Fact]
    public void hashing_the_service_name_hashes_it_in_the_stored_bytes()
    {
        byte[] key = _h.WriteKey("keys/resource.key");
        var result = _h.Traces("""
              resource:
                hash_key_file: keys/resource.key
                attributes:
                  - {key: service.name, action: hash}
            """, Trace(), "resource");

        Assert.Equal(Hmac(key, "checkout"), result.ResourceSpans[0].Resource.Attributes[0].Value.StringValue);
    }

    [Fact]
    public void processors_run_in_pipeline_order_on_one_decoded_request()
    {
        // attributes copies the card number to a second key first; redaction (all keys allowed) then masks both.
        var result = _h.Traces("""
              resource:
                attributes:
                  - {key: team, value: payments, action: insert}
              attributes:
                actions:
                  - {key: card, from_attribute: payment.card, action: insert}
              redaction:
                allow_all_keys: true
                blocked_values: ["4[0-9]{12}(?:[0-9]{3})?"]
            """, Trace(Attr("payment.card", "4111111111111111")), "resource", "attributes", "redaction");

        Assert.Equal(["payment.card=****", "card=****"], Show(OnlySpan(result).Attributes));
        Assert.Contains("team=payments", Show(result.ResourceSpans[0].Resource.Attributes));
    }
}
