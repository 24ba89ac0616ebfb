using System.Net;
using System.Text.Json;
using OpenTelemetry.Proto.Collector.Trace.V1;
using TraceSeal.Serve.Tests.TestSupport;

namespace TraceSeal.Serve.Tests;

/// <summary>The Tempo HTTP API, field by field as Tempo documents it (docs: Tempo HTTP API, "Query", "Search", "Search tags").</summary>
public sealed class TempoApiTests(ServeFixture f) : IClassFixture<ServeFixture>
{
    [Fact]
    public async Task echo_and_ready_answer_as_tempo_does()
    {
        Assert.Equal((HttpStatusCode.OK, "echo"), Pick(await f.GetAsync("/api/echo")));
        Assert.Equal((HttpStatusCode.OK, "ready"), Pick(await f.GetAsync("/ready")));
        var (status, body, _) = await f.GetAsync("/api/status/buildinfo");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("2.", Json(body).GetProperty("version").GetString());
    }

    [Fact]
    public async Task trace_by_id_v1_is_batches_of_otlp_resource_spans_with_hex_ids()
    {
        var (status, body, response) = await f.GetAsync("/api/traces/" + ServeData.FailingTraceHex);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        var batches = Json(body).GetProperty("batches");
        Assert.Equal(2, batches.GetArrayLength());
        var frontend = batches.EnumerateArray().Single(b => Service(b) == "frontend");
        var spans = frontend.GetProperty("scopeSpans")[0].GetProperty("spans");
        Assert.Equal(2, spans.GetArrayLength());
        var root = spans.EnumerateArray().Single(s => s.GetProperty("name").GetString() == "GET /checkout");
        Assert.Equal(ServeData.FailingTraceHex, root.GetProperty("traceId").GetString());
        Assert.Equal(Convert.ToHexStringLower(ServeData.SpanId(1)), root.GetProperty("spanId").GetString());
        Assert.Equal(2, root.GetProperty("kind").GetInt32());
        Assert.Equal(ServeData.T0.ToString(), root.GetProperty("startTimeUnixNano").GetString());
        var cart = batches.EnumerateArray().Single(b => Service(b) == "cart").GetProperty("scopeSpans")[0].GetProperty("spans")[0];
        Assert.Equal(2, cart.GetProperty("status").GetProperty("code").GetInt32());
        Assert.Equal("inventory unavailable", cart.GetProperty("status").GetProperty("message").GetString());
        Assert.Equal("exception", cart.GetProperty("events")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task trace_by_id_v2_wraps_the_trace_and_protobuf_is_tempopb()
    {
        var (status, body, _) = await f.GetAsync("/api/v2/traces/" + ServeData.FailingTraceHex);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, Json(body).GetProperty("trace").GetProperty("resourceSpans").GetArrayLength());

        using var v1 = await Protobuf("/api/traces/" + ServeData.FailingTraceHex);
        var trace = ExportTraceServiceRequest.Parser.ParseFrom(await v1.Content.ReadAsByteArrayAsync());
        Assert.Equal("application/protobuf", v1.Content.Headers.ContentType!.MediaType);
        Assert.Equal(3, trace.ResourceSpans.Sum(r => r.ScopeSpans.Sum(s => s.Spans.Count)));

        // TraceByIDResponse { Trace trace = 1; }: field 1, length-delimited, holding the same Trace bytes.
        using var v2 = await Protobuf("/api/v2/traces/" + ServeData.FailingTraceHex);
        var input = new Google.Protobuf.CodedInputStream(await v2.Content.ReadAsByteArrayAsync());
        Assert.Equal(Google.Protobuf.WireFormat.MakeTag(1, Google.Protobuf.WireFormat.WireType.LengthDelimited), input.ReadTag());
        Assert.Equal(trace, ExportTraceServiceRequest.Parser.ParseFrom(input.ReadBytes()));
    }

    [Theory]
    [InlineData("/api/traces/0123456789abcdef0123456789abcdef", HttpStatusCode.NotFound, "trace not found")]
    [InlineData("/api/traces/not-hex", HttpStatusCode.BadRequest, "invalid trace id")]
    [InlineData("/api/traces/0123456789abcdef0123456789abcdef0", HttpStatusCode.BadRequest, "invalid trace id")]
    [InlineData("/api/v2/traces/%E2%80%AEabc", HttpStatusCode.BadRequest, "invalid trace id")]
    public async Task trace_by_id_refuses_what_is_not_a_trace_id_and_says_not_found(string path, HttpStatusCode expected, string message)
    {
        var (status, body, _) = await f.GetAsync(path);
        Assert.Equal(expected, status);
        Assert.Contains(message, Json(body).GetProperty("error").GetString());
    }

    [Fact]
    public async Task search_by_traceql_returns_whole_trace_summaries_with_tempo_fields()
    {
        var (status, body, _) = await f.GetAsync("/api/search?q=" + Uri.EscapeDataString("{ status = error }"));
        Assert.Equal(HttpStatusCode.OK, status);
        var doc = Json(body);
        var trace = Assert.Single(doc.GetProperty("traces").EnumerateArray());
        Assert.Equal(ServeData.FailingTraceHex, trace.GetProperty("traceID").GetString());
        Assert.Equal("frontend", trace.GetProperty("rootServiceName").GetString());
        Assert.Equal("GET /checkout", trace.GetProperty("rootTraceName").GetString());
        Assert.Equal(JsonValueKind.String, trace.GetProperty("startTimeUnixNano").ValueKind);
        Assert.Equal(ServeData.T0.ToString(), trace.GetProperty("startTimeUnixNano").GetString());
        Assert.Equal(120, trace.GetProperty("durationMs").GetInt32());
        var spanSet = trace.GetProperty("spanSet");
        Assert.Equal(1, spanSet.GetProperty("matched").GetInt32());
        var span = Assert.Single(spanSet.GetProperty("spans").EnumerateArray());
        Assert.Equal(Convert.ToHexStringLower(ServeData.SpanId(3)), span.GetProperty("spanID").GetString());
        Assert.Equal("80000000", span.GetProperty("durationNanos").GetString());
        Assert.Equal((ServeData.T0 + 15_000_000).ToString(), span.GetProperty("startTimeUnixNano").GetString());
        Assert.Equal(spanSet.GetRawText(), Assert.Single(trace.GetProperty("spanSets").EnumerateArray()).GetRawText());
        var stats = trace.GetProperty("serviceStats");
        Assert.Equal(2, stats.GetProperty("frontend").GetProperty("spanCount").GetInt32());
        Assert.Equal(0, stats.GetProperty("frontend").GetProperty("errorCount").GetInt32());
        Assert.Equal(1, stats.GetProperty("cart").GetProperty("errorCount").GetInt32());
        Assert.Equal(1, doc.GetProperty("metrics").GetProperty("inspectedTraces").GetInt32());
    }

    [Theory]
    [InlineData("q={ resource.service.name = \"cart\" && span.http.status_code = 500 }", 1)]
    [InlineData("q={ .http.status_code >= 500 && duration > 50ms }", 1)]
    [InlineData("q={ name = \"GET /\" }", 3)]
    [InlineData("q={ kind = client }", 1)]
    [InlineData("q={ span.http.status_code = 200 && status = ok }", 3)]
    [InlineData("q={ name =~ \"POST.*\" }", 1)]
    [InlineData("q={}", 4)]
    [InlineData("tags=service.name=cart", 1)]
    [InlineData("tags=http.status_code=500 service.name=frontend", 1)]
    [InlineData("tags=name=\"GET /\"&limit=2", 2)]
    [InlineData("tags=error=true", 1)]
    [InlineData("minDuration=100ms", 1)]
    [InlineData("maxDuration=5ms", 3)]
    [InlineData("q={ resource.service.name = \"nope\" }", 0)]
    public async Task search_filters_select_traces(string query, int traces)
    {
        var parts = System.Text.RegularExpressions.Regex.Split(query, "&(?=[a-zA-Z]+=)").Select(p => p.Split('=', 2)).Select(kv => kv[0] + "=" + Uri.EscapeDataString(kv[1]));
        var (status, body, _) = await f.GetAsync("/api/search?" + string.Join('&', parts));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(traces, Json(body).GetProperty("traces").GetArrayLength());
    }

    [Fact]
    public async Task search_returns_the_attributes_a_query_names_with_each_matched_span()
    {
        var (_, body, _) = await f.GetAsync("/api/search?q=" + Uri.EscapeDataString("{ span.cart.items = 3 }"));
        var span = Json(body).GetProperty("traces")[0].GetProperty("spanSets")[0].GetProperty("spans")[0];
        var attribute = Assert.Single(span.GetProperty("attributes").EnumerateArray());
        Assert.Equal("cart.items", attribute.GetProperty("key").GetString());
        Assert.Equal("3", attribute.GetProperty("value").GetProperty("intValue").GetString());
    }

    [Theory]
    [InlineData("q={ status = error")]
    [InlineData("q={ a = 1 || b = 2 }")]
    [InlineData("q={ status = error } | count() > 1")]
    [InlineData("q={ span.x = \"unterminated }")]
    [InlineData("q={ duration > soon }")]
    [InlineData("q={ status > error }")]
    [InlineData("q={ nosuchintrinsic = 1 }")]
    [InlineData("q={ .a =~ \"(\" }")]
    [InlineData("q={ .a = }")]
    [InlineData("limit=0")]
    [InlineData("limit=-1")]
    [InlineData("limit=99999999999999999999")]
    [InlineData("start=yesterday")]
    [InlineData("end=-5")]
    [InlineData("minDuration=fast")]
    [InlineData("maxDuration=-1s")]
    [InlineData("spss=0")]
    [InlineData("tags=novalue")]
    [InlineData("tags=status.code=maybe")]
    [InlineData("tags=k=\"unterminated")]
    public async Task search_refuses_malformed_parameters_with_400_and_a_json_error(string query)
    {
        var (key, value) = (query[..query.IndexOf('=')], query[(query.IndexOf('=') + 1)..]);
        var (status, body, _) = await f.GetAsync($"/api/search?{key}={Uri.EscapeDataString(value)}");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.False(string.IsNullOrEmpty(Json(body).GetProperty("error").GetString()));
    }

    [Fact]
    public async Task search_refuses_a_query_longer_than_the_limit()
    {
        var q = "{" + string.Join("&&", Enumerable.Repeat(".k=1", 700)) + "}";
        var (status, body, _) = await f.GetAsync("/api/search?q=" + Uri.EscapeDataString(q));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("longer than", Json(body).GetProperty("error").GetString());
    }

    [Fact]
    public async Task tag_names_v1_list_span_and_resource_attributes_and_v2_groups_them_by_scope()
    {
        var v1 = Json((await f.GetAsync("/api/search/tags")).Body).GetProperty("tagNames").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("http.status_code", v1);
        Assert.Contains("service.name", v1);
        Assert.Contains("deployment.environment", v1);

        var scopes = Json((await f.GetAsync("/api/v2/search/tags")).Body).GetProperty("scopes").EnumerateArray()
            .ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).ToList());
        Assert.Equal(["span", "resource", "intrinsic"], scopes.Keys);
        Assert.Contains("cart.items", scopes["span"]);
        Assert.DoesNotContain("service.name", scopes["span"]);
        Assert.Contains("service.name", scopes["resource"]);
        Assert.Contains("status", scopes["intrinsic"]);

        var onlyResource = Json((await f.GetAsync("/api/v2/search/tags?scope=resource")).Body).GetProperty("scopes");
        Assert.Equal("resource", Assert.Single(onlyResource.EnumerateArray()).GetProperty("name").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await f.GetAsync("/api/v2/search/tags?scope=everything")).Status);
    }

    [Fact]
    public async Task tag_values_v1_are_strings_and_v2_are_typed()
    {
        var v1 = Json((await f.GetAsync("/api/search/tag/service.name/values")).Body).GetProperty("tagValues").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(["cart", "frontend"], v1);

        var v2 = Json((await f.GetAsync("/api/v2/search/tag/span.http.status_code/values")).Body).GetProperty("tagValues").EnumerateArray().ToList();
        Assert.Equal(["200", "500"], v2.Select(v => v.GetProperty("value").GetString()));
        Assert.All(v2, v => Assert.Equal("int", v.GetProperty("type").GetString()));

        var status = Json((await f.GetAsync("/api/v2/search/tag/status/values")).Body).GetProperty("tagValues").EnumerateArray();
        Assert.Contains(status, v => v.GetProperty("value").GetString() == "error");
        Assert.Empty(Json((await f.GetAsync("/api/search/tag/no.such.tag/values")).Body).GetProperty("tagValues").EnumerateArray());
    }

    private static (HttpStatusCode, string) Pick((HttpStatusCode Status, string Body, HttpResponseMessage _) r) => (r.Status, r.Body);

    private static JsonElement Json(string body) => JsonDocument.Parse(body).RootElement;

    private static string? Service(JsonElement batch) =>
        batch.GetProperty("resource").GetProperty("attributes").EnumerateArray().Single(a => a.GetProperty("key").GetString() == "service.name")
            .GetProperty("value").GetProperty("stringValue").GetString();

    private async Task<HttpResponseMessage> Protobuf(string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("application/protobuf");
        var response = await f.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response;
    }
}
