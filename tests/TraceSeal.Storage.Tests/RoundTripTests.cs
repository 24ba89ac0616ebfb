using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Logs.V1;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Otlp;
using TraceSeal.Query;
using TraceSeal.Storage.Tests.TestSupport;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;

namespace TraceSeal.Storage.Tests;

/// <summary>What goes in through the exporter comes back from the reader, equal to the OTLP input.</summary>
public sealed class RoundTripTests : IDisposable
{
    private readonly StoreFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task Spans_come_back_equal_from_the_live_wal_before_any_block_exists()
    {
        await using var exporter = await _f.StartAsync();
        var a = Request("checkout", [1, 2], children: true);
        var b = Request("payments", [3]);
        Assert.Equal(SinkResult.Ok, await exporter.ExportAsync(Batch(a), default));
        Assert.Equal(SinkResult.Ok, await exporter.ExportAsync(Batch(b), default));

        Assert.Empty(_f.Files("*.block"));
        Assert.Single(_f.Files("*.wal"));
        var result = _f.Reader().Query(new TraceQuery { Limit = 0 });
        Assert.Equal(Merge(a, b), result.Request);
        Assert.Equal(3, result.TraceCount);
        Assert.Equal(5, result.SpanCount);
    }

    [Fact]
    public async Task Spans_come_back_equal_after_a_block_cut_and_the_wal_it_covers_is_deleted()
    {
        await using var exporter = await _f.StartAsync();
        var a = Request("checkout", [1, 2], children: true);
        var b = Request("payments", [3]);
        await exporter.ExportAsync(Batch(a), default);
        await exporter.CutBlocksAsync();
        await exporter.ExportAsync(Batch(b), default);
        await exporter.CutBlocksAsync();

        Assert.Empty(_f.Files("*.wal"));
        Assert.Equal(2, _f.Files("*.block").Count());
        Assert.Equal(2, _f.Files("*.index").Count());
        var reader = _f.Reader();
        Assert.Equal(Merge(a, b), reader.Query(new TraceQuery { Limit = 0 }).Request);

        // By trace id, through the index: exactly that trace's spans.
        var one = reader.Query(new TraceQuery { TraceId = TraceId(2) });
        Assert.Equal(2, one.SpanCount);
        Assert.All(one.Request.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans), s => Assert.Equal(TraceId(2), s.TraceId.ToByteArray()));
    }

    [Fact]
    public async Task A_graceful_stop_writes_the_last_block_and_leaves_no_wal()
    {
        var exporter = await _f.StartAsync();
        var a = Request("checkout", [7]);
        await exporter.ExportAsync(Batch(a), default);
        await exporter.StopAsync(default);

        Assert.Empty(_f.Files("*.wal"));
        Assert.Single(_f.Files("*.block"));
        Assert.Equal(Merge(a), _f.Reader().Query(new TraceQuery()).Request);
    }

    [Fact]
    public async Task Logs_and_metrics_are_sealed_and_stored_too_with_their_signal()
    {
        await using var exporter = await _f.StartAsync();
        var logs = new ExportLogsServiceRequest { ResourceLogs = { new ResourceLogs { ScopeLogs = { new ScopeLogs { LogRecords = { new LogRecord { TimeUnixNano = 5 } } } } } } };
        var traces = Request("checkout", [1]);
        await exporter.ExportAsync(Batch(logs, OtlpSignal.Logs), default);
        await exporter.ExportAsync(Batch(traces), default);
        await exporter.CutBlocksAsync();

        var records = _f.Reader().ReadRecords("acme");
        Assert.Equal([OtlpSignal.Logs, OtlpSignal.Traces], records.Select(r => r.Signal));
        Assert.Equal(logs, ExportLogsServiceRequest.Parser.ParseFrom(records[0].Payload.Span));
    }

    [Fact]
    public async Task Filters_select_by_service_name_duration_attribute_time_and_limit()
    {
        await using var exporter = await _f.StartAsync();
        await exporter.ExportAsync(Batch(Request("checkout", [1, 2, 3], name: "GET /cart", children: true)), default);
        await exporter.CutBlocksAsync();
        await exporter.ExportAsync(Batch(Request("payments", [4, 5], name: "charge")), default); // stays in the WAL
        var reader = _f.Reader();

        Assert.Equal(2, reader.Query(new TraceQuery { Service = "payments" }).SpanCount);
        Assert.Equal(3, reader.Query(new TraceQuery { SpanName = "db.query" }).SpanCount);
        Assert.Equal(0, reader.Query(new TraceQuery { Service = "nobody" }).SpanCount);
        // durations: trace t lasts 5ms * (t % 7 + 1); children 1ms
        Assert.Equal(2, reader.Query(new TraceQuery { MinDuration = TimeSpan.FromMilliseconds(25) }).SpanCount);
        Assert.Equal(3, reader.Query(new TraceQuery { MaxDuration = TimeSpan.FromMilliseconds(1) }).SpanCount);
        Assert.Equal(1, reader.Query(new TraceQuery { Attributes = [new("http.status_code", "204")] }).SpanCount);
        Assert.Equal(6, reader.Query(new TraceQuery { Attributes = [new("service.name", "checkout")] }).SpanCount);
        var t5 = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000 + 5);
        Assert.Equal(1, reader.Query(new TraceQuery { From = t5.AddMilliseconds(26), To = t5.AddMilliseconds(27) }).SpanCount);
        var limited = reader.Query(new TraceQuery { Limit = 2 });
        Assert.Equal(2, limited.TraceCount);
        Assert.Equal(3, limited.TracesOverLimit);
        Assert.Equal(
            [Convert.ToHexString(TraceId(4)), Convert.ToHexString(TraceId(5))],
            limited.Request.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).Select(s => Convert.ToHexString(s.TraceId.Span)));
    }
}
