using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using TraceSeal.Cli.Commands;
using TraceSeal.Otlp;
using TraceSeal.Query;
using TraceSeal.Serve.Tests.TestSupport;

namespace TraceSeal.Serve.Tests;

/// <summary>`traceseal query`: filters select traces and whole traces print; errors, kind and status show; nothing matched is exit 3.</summary>
public sealed class QueryCommandTests : IAsyncLifetime
{
    private readonly StoreBuilder _store = new();

    public Task InitializeAsync() => _store.WriteAsync(cut: false,
        (ServeData.Failing(), OtlpSignal.Traces), (ServeData.Healthy(2), OtlpSignal.Traces), (ServeData.Logs(), OtlpSignal.Logs), (ServeData.Metrics(), OtlpSignal.Metrics));

    public Task DisposeAsync()
    {
        _store.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public void an_attribute_of_one_span_selects_its_whole_trace()
    {
        var (code, output, error) = Run(new TraceQuery { Attributes = [new("cart.items", "3")] });
        Assert.Equal(0, code);
        Assert.Equal("", error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith($"trace {ServeData.FailingTraceHex}  3 span(s)  1 error(s)  120ms", lines[0]);
        Assert.Equal(4, lines.Length);
        Assert.Equal("  120ms  frontend  GET /checkout  [server]", lines[1]);
        Assert.Equal("    90ms  frontend  POST /cart  [client]", lines[2]);
        Assert.Equal("!     80ms  cart  POST /cart  [server, ERROR: inventory unavailable]", lines[3]);
    }

    [Fact]
    public void status_error_selects_the_failing_trace_only()
    {
        var (code, output, _) = Run(new TraceQuery { Status = SpanStatus.Error });
        Assert.Equal(0, code);
        Assert.Single(output.Split('\n'), l => l.StartsWith("trace ", StringComparison.Ordinal));
        Assert.Contains(ServeData.FailingTraceHex, output);
        var (_, ok, _) = Run(new TraceQuery { Status = SpanStatus.Ok });
        Assert.Equal(2, ok.Split('\n').Count(l => l.StartsWith("trace ", StringComparison.Ordinal)));
        Assert.Contains("[server, ok]", ok);
    }

    [Fact]
    public void verbose_adds_attributes_events_and_links()
    {
        var (_, output, _) = Run(new TraceQuery { Status = SpanStatus.Error }, verbose: true);
        Assert.Contains("        http.status_code=500\n", output);
        Assert.Contains("        event +45ms exception  exception.type=InventoryException  exception.message=item 42 out of stock\n", output);
        Assert.Contains("        link " + Convert.ToHexStringLower(ServeData.HealthyTrace(1)), output);
    }

    [Fact]
    public void nothing_matched_is_exit_3_with_a_message_on_stderr()
    {
        var (code, output, error) = Run(new TraceQuery { Service = "no-such-service" });
        Assert.Equal(QueryCommand.ExitNoMatch, code);
        Assert.Equal(3, code);
        Assert.Equal("", output);
        Assert.Equal("no traces matched\n", error.Replace("\r", ""));
    }

    [Fact]
    public void json_output_is_the_whole_trace_as_otlp_json()
    {
        var (code, output, _) = Run(new TraceQuery { SpanName = "GET /checkout" }, format: "json");
        Assert.Equal(0, code);
        var request = new JsonParser(JsonParser.Settings.Default).Parse<ExportTraceServiceRequest>(OtlpJsonHexToBase64(output));
        Assert.Equal(3, request.ResourceSpans.Sum(r => r.ScopeSpans.Sum(s => s.Spans.Count)));
    }

    [Fact]
    public void logs_are_read_back_and_searched_by_text()
    {
        var o = new QueryCommand.Output("tree", false, new StringWriter(), new StringWriter());
        Assert.Equal(0, QueryCommand.RunSignal(_store.Reader(), OtlpSignal.Logs, new SignalQuery { Text = "OUT OF STOCK" }, o));
        var line = Assert.Single(o.Out.ToString()!.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("  ERROR  cart  checkout failed: item 42 out of stock  order.id=A-1001  trace=" + ServeData.FailingTraceHex, line);

        var none = new QueryCommand.Output("tree", false, new StringWriter(), new StringWriter());
        Assert.Equal(3, QueryCommand.RunSignal(_store.Reader(), OtlpSignal.Logs, new SignalQuery { MinSeverity = 21 }, none));
        Assert.Equal("no logs matched", none.Error.ToString()!.Trim());
    }

    [Fact]
    public void metrics_are_read_back()
    {
        var o = new QueryCommand.Output("tree", false, new StringWriter(), new StringWriter());
        Assert.Equal(0, QueryCommand.RunSignal(_store.Reader(), OtlpSignal.Metrics, new SignalQuery { Service = "cart" }, o));
        Assert.Contains("  cart  cart.checkouts  counter  7 1  outcome=failed", o.Out.ToString());
    }

    [Fact]
    public async Task an_event_attribute_nested_32_levels_deep_reads_back()
    {
        using var store = new StoreBuilder();
        var request = ServeData.Failing();
        var cart = request.ResourceSpans[1].ScopeSpans[0].Spans[0];
        cart.Events[0].Attributes.Add(new OpenTelemetry.Proto.Common.V1.KeyValue { Key = "deep", Value = ServeData.Nested(OtlpValidator.MaxAnyValueDepth) });
        var bytes = request.ToByteArray();
        Assert.True(OtlpValidator.TryValidate(bytes, OtlpSignal.Traces, out _, out _), "the collector accepts it");
        await store.WriteAsync(cut: true, (request, OtlpSignal.Traces));

        var result = store.Reader().Query(new TraceQuery { TraceId = ServeData.FailingTrace });
        Assert.Empty(result.Skipped);
        Assert.Equal(request, result.Request);
        var (code, output, error) = Run(new TraceQuery { Status = SpanStatus.Error }, format: "json", reader: store.Reader());
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Contains("\"deepest\"", output);
    }

    [Fact]
    public async Task a_record_that_does_not_decode_is_reported_by_object_and_skipped()
    {
        using var store = new StoreBuilder();
        byte[] broken = [0x0A, 0x7F, 0x01]; // resource_logs: a length of 127 with 1 byte left
        await store.WriteRawAsync(cut: false, (broken, OtlpSignal.Logs), (ServeData.Logs().ToByteArray(), OtlpSignal.Logs));
        var o = new QueryCommand.Output("tree", false, new StringWriter(), new StringWriter());
        Assert.Equal(0, QueryCommand.RunSignal(store.Reader(), OtlpSignal.Logs, new SignalQuery(), o));
        Assert.Equal(2, o.Out.ToString()!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var warning = Assert.Single(o.Error.ToString()!.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("warning: " + store.Store, warning);
        Assert.Contains("a logs record could not be decoded and was skipped (", warning);
    }

    [Fact]
    public async Task limit_0_is_read_and_printed_a_page_at_a_time_and_prints_what_one_read_prints()
    {
        // 40 traces of 3 spans (20 in a block, 20 in the live WAL), the first sent twice (a client retry: shown once).
        using var store = new StoreBuilder();
        var requests = Enumerable.Range(1, 40).Select(ThreeSpanTrace).ToList();
        await store.WriteAsync(cut: true, [.. requests.Take(20).Prepend(requests[0]).Select(r => ((IMessage)r, OtlpSignal.Traces))]);
        await store.WriteAsync(cut: false, [.. requests.Skip(20).Select(r => ((IMessage)r, OtlpSignal.Traces))]);
        var all = new TraceQuery { Limit = 0 };

        // The engine: pages of at most 5 spans hold one trace each (3 + 3 > 5), earliest first; nothing is held twice.
        var pages = new List<(int Traces, int Spans, ulong Start)>();
        var total = TraceSearch.WholeTracesPaged(store.Reader(), all, 5, p => pages.Add((p.TraceCount, p.SpanCount, p.Request.ResourceSpans[0].ScopeSpans[0].Spans[0].StartTimeUnixNano)));
        Assert.Equal(40, pages.Count);
        Assert.All(pages, p => Assert.Equal((1, 3), (p.Traces, p.Spans)));
        Assert.Equal(pages.Select(p => p.Start).Order(), pages.Select(p => p.Start));
        Assert.Equal((40, 120), (total.TraceCount, total.SpanCount));

        foreach (var format in new[] { "tree", "json" })
        {
            // The CLI: each page is written (and flushed) before the next is read; the text is what one page of everything prints.
            var paged = new FlushCountingWriter();
            var one = new StringWriter();
            Assert.Equal(0, QueryCommand.Run(store.Reader(), all, new QueryCommand.Output(format, false, paged, new StringWriter()), pageSpans: 5));
            Assert.Equal(0, QueryCommand.Run(store.Reader(), all, new QueryCommand.Output(format, false, one, new StringWriter()), pageSpans: int.MaxValue));
            Assert.True(paged.Flushes >= 40, $"{format}: {paged.Flushes} flushes");
            Assert.Equal(one.ToString(), paged.ToString());
        }

        var (_, json, _) = Run(all, format: "json", reader: store.Reader());
        var parsed = new JsonParser(JsonParser.Settings.Default).Parse<ExportTraceServiceRequest>(OtlpJsonHexToBase64(json));
        Assert.Equal(120, parsed.ResourceSpans.Sum(r => r.ScopeSpans.Sum(s => s.Spans.Count)));
    }

    [Fact]
    public void a_trace_larger_than_a_page_is_a_page_of_its_own()
    {
        var pages = new List<int>();
        var total = TraceSearch.WholeTracesPaged(_store.Reader(), new TraceQuery { Limit = 0 }, 1, p => pages.Add(p.SpanCount));
        Assert.Equal([3, 1, 1], pages); // earliest first: the failing trace's 3 spans, then the two healthy traces
        Assert.Equal(3, total.TraceCount);
    }

    /// <summary>Trace n: a root and two children, starting n ms after T0 (ids from n).</summary>
    private static ExportTraceServiceRequest ThreeSpanTrace(int n)
    {
        var traceId = new byte[16];
        traceId[0] = 0x7E;
        traceId[15] = (byte)n;
        ulong start = ServeData.T0 + ((ulong)n * 1_000_000);
        var request = ServeData.Healthy(1);
        var spans = request.ResourceSpans[0].ScopeSpans[0].Spans;
        spans.Clear();
        spans.Add(ServeData.NewSpan(traceId, 1, null, "GET /", OpenTelemetry.Proto.Trace.V1.Span.Types.SpanKind.Server, start, 900_000));
        spans.Add(ServeData.NewSpan(traceId, 2, ServeData.SpanId(1), "a", OpenTelemetry.Proto.Trace.V1.Span.Types.SpanKind.Internal, start + 1, 1_000));
        spans.Add(ServeData.NewSpan(traceId, 3, ServeData.SpanId(1), "b", OpenTelemetry.Proto.Trace.V1.Span.Types.SpanKind.Internal, start + 2, 1_000));
        return request;
    }

    /// <summary>Counts flushes: the CLI flushes after each page it wrote.</summary>
    private sealed class FlushCountingWriter : StringWriter
    {
        public int Flushes { get; private set; }

        public override void Flush()
        {
            Flushes++;
            base.Flush();
        }
    }

    private (int Code, string Output, string Error) Run(TraceQuery query, string format = "tree", bool verbose = false, StoreReader? reader = null)
    {
        var o = new QueryCommand.Output(format, verbose, new StringWriter(), new StringWriter());
        int code = QueryCommand.Run(reader ?? _store.Reader(), query, o);
        return (code, o.Out.ToString()!.Replace("\r", ""), o.Error.ToString()!.Replace("\r", ""));
    }

    /// <summary>OTLP/JSON ids are hex; Google.Protobuf's parser wants base64.</summary>
    private static string OtlpJsonHexToBase64(string json) =>
        System.Text.RegularExpressions.Regex.Replace(json, "\"(traceId|spanId|parentSpanId)\": \"([0-9a-f]*)\"",
            m => $"\"{m.Groups[1].Value}\": \"{Convert.ToBase64String(Convert.FromHexString(m.Groups[2].Value))}\"");
}
