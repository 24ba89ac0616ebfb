using System.Net;
using System.Text.Json;
using TraceSeal.Serve.Tests.TestSupport;

namespace TraceSeal.Serve.Tests;

/// <summary>Jaeger's query API under /jaeger, in Jaeger's JSON model (data, total, limit, offset, errors; traceID, spans, processes).</summary>
public sealed class JaegerApiTests(ServeFixture f) : IClassFixture<ServeFixture>
{
    [Fact]
    public async Task services_come_in_the_jaeger_envelope()
    {
        var (status, body, _) = await f.GetAsync("/jaeger/api/services");
        Assert.Equal(HttpStatusCode.OK, status);
        var doc = Json(body);
        Assert.Equal(["cart", "frontend"], doc.GetProperty("data").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(2, doc.GetProperty("total").GetInt32());
        Assert.Equal(0, doc.GetProperty("limit").GetInt32());
        Assert.Equal(0, doc.GetProperty("offset").GetInt32());
        Assert.Equal(JsonValueKind.Null, doc.GetProperty("errors").ValueKind);
    }

    [Fact]
    public async Task operations_are_names_per_service_and_objects_with_span_kind()
    {
        var names = Json((await f.GetAsync("/jaeger/api/services/frontend/operations")).Body).GetProperty("data").EnumerateArray().Select(e => e.GetString());
        Assert.Equal(["GET /", "GET /checkout", "POST /cart"], names.Order(StringComparer.Ordinal));

        var objects = Json((await f.GetAsync("/jaeger/api/operations?service=frontend&spanKind=client")).Body).GetProperty("data");
        var op = Assert.Single(objects.EnumerateArray());
        Assert.Equal("POST /cart", op.GetProperty("name").GetString());
        Assert.Equal("client", op.GetProperty("spanKind").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await f.GetAsync("/jaeger/api/operations")).Status);
    }

    [Fact]
    public async Task a_trace_is_spans_with_references_tags_logs_and_processes()
    {
        var (status, body, _) = await f.GetAsync("/jaeger/api/traces/" + ServeData.FailingTraceHex);
        Assert.Equal(HttpStatusCode.OK, status);
        var doc = Json(body);
        Assert.Equal(1, doc.GetProperty("total").GetInt32());
        var trace = Assert.Single(doc.GetProperty("data").EnumerateArray());
        Assert.Equal(ServeData.FailingTraceHex, trace.GetProperty("traceID").GetString());
        var spans = trace.GetProperty("spans").EnumerateArray().ToList();
        Assert.Equal(3, spans.Count);
        var cart = spans.Single(s => s.GetProperty("spanID").GetString() == Convert.ToHexStringLower(ServeData.SpanId(3)));
        Assert.Equal(ServeData.FailingTraceHex, cart.GetProperty("traceID").GetString());
        Assert.Equal("POST /cart", cart.GetProperty("operationName").GetString());
        Assert.Equal((long)((ServeData.T0 + 15_000_000) / 1000), cart.GetProperty("startTime").GetInt64());
        Assert.Equal(80_000, cart.GetProperty("duration").GetInt64());
        var refs = cart.GetProperty("references").EnumerateArray().ToList();
        Assert.Equal("CHILD_OF", refs[0].GetProperty("refType").GetString());
        Assert.Equal(Convert.ToHexStringLower(ServeData.SpanId(2)), refs[0].GetProperty("spanID").GetString());
        Assert.Equal(ServeData.FailingTraceHex, refs[0].GetProperty("traceID").GetString());
        Assert.Equal("FOLLOWS_FROM", refs[1].GetProperty("refType").GetString());
        var tags = cart.GetProperty("tags").EnumerateArray().ToDictionary(t => t.GetProperty("key").GetString()!);
        Assert.Equal("int64", tags["http.status_code"].GetProperty("type").GetString());
        Assert.Equal(500, tags["http.status_code"].GetProperty("value").GetInt64());
        Assert.Equal("server", tags["span.kind"].GetProperty("value").GetString());
        Assert.Equal("ERROR", tags["otel.status_code"].GetProperty("value").GetString());
        Assert.Equal("bool", tags["error"].GetProperty("type").GetString());
        Assert.True(tags["error"].GetProperty("value").GetBoolean());
        Assert.Equal("inventory unavailable", tags["otel.status_description"].GetProperty("value").GetString());
        var log = Assert.Single(cart.GetProperty("logs").EnumerateArray());
        Assert.Equal((long)((ServeData.T0 + 60_000_000) / 1000), log.GetProperty("timestamp").GetInt64());
        var fields = log.GetProperty("fields").EnumerateArray().ToDictionary(t => t.GetProperty("key").GetString()!, t => t.GetProperty("value").GetString());
        Assert.Equal("exception", fields["event"]);
        Assert.Equal("item 42 out of stock", fields["exception.message"]);
        var processId = cart.GetProperty("processID").GetString()!;
        var process = trace.GetProperty("processes").GetProperty(processId);
        Assert.Equal("cart", process.GetProperty("serviceName").GetString());
        Assert.Contains(process.GetProperty("tags").EnumerateArray(), t => t.GetProperty("key").GetString() == "deployment.environment");
        Assert.Equal(JsonValueKind.Null, trace.GetProperty("warnings").ValueKind);
        Assert.Equal(2, trace.GetProperty("processes").EnumerateObject().Count());
    }

    [Fact]
    public async Task an_unknown_trace_is_404_with_jaeger_errors()
    {
        var (status, body, _) = await f.GetAsync("/jaeger/api/traces/00000000000000000000000000000abc");
        Assert.Equal(HttpStatusCode.NotFound, status);
        var doc = Json(body);
        Assert.Equal(JsonValueKind.Null, doc.GetProperty("data").ValueKind);
        var error = Assert.Single(doc.GetProperty("errors").EnumerateArray());
        Assert.Equal(404, error.GetProperty("code").GetInt32());
        Assert.Equal("trace not found", error.GetProperty("msg").GetString());
    }

    [Theory]
    [InlineData("service=cart", 1)]
    [InlineData("service=frontend", 4)]
    [InlineData("service=frontend&operation=GET%20%2F&limit=2", 2)]
    [InlineData("service=frontend&tags=%7B%22http.status_code%22%3A%22500%22%7D", 1)]
    [InlineData("service=frontend&tags=%7B%22error%22%3A%22true%22%7D", 0)]
    [InlineData("service=cart&tags=%7B%22error%22%3A%22true%22%7D", 1)]
    [InlineData("service=frontend&minDuration=100ms", 1)]
    [InlineData("service=frontend&maxDuration=5ms", 3)]
    public async Task find_traces_takes_jaeger_parameters(string query, int count)
    {
        var (status, body, _) = await f.GetAsync("/jaeger/api/traces?" + query);
        Assert.Equal(HttpStatusCode.OK, status);
        var doc = Json(body);
        Assert.Equal(count, doc.GetProperty("data").GetArrayLength());
        Assert.Equal(count, doc.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task find_traces_by_time_takes_microseconds()
    {
        long t0 = (long)(ServeData.T0 / 1000);
        var inside = Json((await f.GetAsync($"/jaeger/api/traces?service=cart&start={t0}&end={t0 + 200_000}")).Body);
        Assert.Equal(1, inside.GetProperty("data").GetArrayLength());
        var before = Json((await f.GetAsync($"/jaeger/api/traces?service=cart&start={t0 - 20_000_000}&end={t0 - 10_000_000}")).Body);
        Assert.Equal(0, before.GetProperty("data").GetArrayLength());
    }

    [Theory]
    [InlineData("tags=not-json")]
    [InlineData("tags=%5B1%2C2%5D")]
    [InlineData("tags=%7B%22a%22%3A%7B%22b%22%3A1%7D%7D")]
    [InlineData("start=soon")]
    [InlineData("end=-1")]
    [InlineData("limit=abc")]
    [InlineData("minDuration=quick")]
    public async Task find_traces_refuses_malformed_parameters_with_400_in_the_jaeger_envelope(string query)
    {
        var (status, body, _) = await f.GetAsync("/jaeger/api/traces?service=cart&" + query);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = Assert.Single(Json(body).GetProperty("errors").EnumerateArray());
        Assert.Equal(400, error.GetProperty("code").GetInt32());
    }

    private static JsonElement Json(string body) => JsonDocument.Parse(body).RootElement;
}
