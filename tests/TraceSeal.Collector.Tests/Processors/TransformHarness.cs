using System.Security.Cryptography;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Hosting;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Processors;
using TraceSeal.Collector.Processors.Transform;
using TraceSeal.Collector.Tests.Config;
using TraceSeal.Otlp;
using OtlpResource = OpenTelemetry.Proto.Resource.V1.Resource;

namespace TraceSeal.Collector.Tests.Processors;

/// <summary>
/// Loads a `processors:` block the way the collector does (YAML → settings → ComponentFactory), runs a request's
/// protobuf bytes through the pipeline's <see cref="PayloadRewriter"/> and decodes what comes out. Key files are
/// generated per test (never in git).
/// </summary>
internal sealed class TransformHarness : IDisposable
{
    private readonly ConfigFixture _f = new();

    public ConfigFixture Fixture => _f;

    /// <summary>Writes <paramref name="key"/> (default: 32 fresh random bytes) 0600 to <paramref name="name"/>; returns the bytes.</summary>
    public byte[] WriteKey(string name = "hash.key", byte[]? key = null, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        key ??= RandomNumberGenerator.GetBytes(32);
        var path = _f.Path(name);
        File.WriteAllBytes(path, key);
        File.SetUnixFileMode(path, mode);
        return key;
    }

    /// <summary>A full config around <paramref name="processors"/> (indented by two spaces) with every processor in one traces pipeline.</summary>
    public static string Config(string processors, params string[] ids) => Config(processors, OtlpSignal.Traces, ids);

    /// <summary>The same with the pipeline of <paramref name="signal"/> (include / exclude properties depend on it).</summary>
    public static string Config(string processors, OtlpSignal signal, params string[] ids) => $"""
        receivers:
          otlp:
            protocols:
              grpc:
                allow_plaintext: true
        processors:
        {processors}
        exporters:
          discard:
        service:
          pipelines:
            {signal.ToString().ToLowerInvariant()}:
              receivers: [otlp]
              processors: [{string.Join(", ", ids)}]
              exporters: [discard]
        """;

    public CollectorConfig Load(string processors, params string[] ids) => _f.Parse(Config(processors, ids));

    public string[] Errors(string processors, params string[] ids) => _f.Errors(Config(processors, ids));

    /// <summary>The load errors of <see cref="Config"/>, each asserted to be one line (no stack trace, no wrapped message).</summary>
    public string[] OneLineErrors(string processors, params string[] ids)
    {
        var errors = Errors(processors, ids);
        Assert.All(errors, e => Assert.DoesNotContain('\n', e));
        return errors;
    }

    /// <summary>How an error or warning at <paramref name="line"/>:<paramref name="column"/> of the config renders.</summary>
    public string At(int line, int column, string message) => _f.At(line, column, message);

    /// <summary>The processors of the config, built as the host builds them, in pipeline order.</summary>
    public IProcessor[] Processors(string processors, params string[] ids) => Processors(processors, OtlpSignal.Traces, ids);

    /// <summary>The same, loaded in a pipeline of <paramref name="signal"/>.</summary>
    public IProcessor[] Processors(string processors, OtlpSignal signal, params string[] ids)
    {
        var config = _f.Parse(Config(processors, signal, ids));
        return [.. ids.Select(id => ComponentFactory.CreateProcessor(id, config.Processors[id], NullLogger.Instance))];
    }

    /// <summary>The bytes the exporters would get (the input array itself when nothing changed).</summary>
    public byte[] Rewrite(string processors, byte[] payload, OtlpSignal signal, params string[] ids)
    {
        var rewriter = PayloadRewriter.For(Processors(processors, signal, ids))!;
        using var result = rewriter.Rewrite(Batch(payload, signal));
        return result.Rewritten ? result.Batch.Payload.ToArray() : payload;
    }

    public ExportTraceServiceRequest Traces(string processors, ExportTraceServiceRequest request, params string[] ids) =>
        ExportTraceServiceRequest.Parser.ParseFrom(Rewrite(processors, request.ToByteArray(), OtlpSignal.Traces, ids));

    public ExportLogsServiceRequest Logs(string processors, ExportLogsServiceRequest request, params string[] ids) =>
        ExportLogsServiceRequest.Parser.ParseFrom(Rewrite(processors, request.ToByteArray(), OtlpSignal.Logs, ids));

    public ExportMetricsServiceRequest Metrics(string processors, ExportMetricsServiceRequest request, params string[] ids) =>
        ExportMetricsServiceRequest.Parser.ParseFrom(Rewrite(processors, request.ToByteArray(), OtlpSignal.Metrics, ids));

    public static ReceivedBatch Batch(ReadOnlyMemory<byte> payload, OtlpSignal signal, Storage.Index.RequestIndex? index = null) => new()
    {
        Signal = signal,
        Payload = payload,
        ItemCount = 1,
        Tenant = "default",
        Identity = "cn:test",
        Receiver = "otlp",
        Index = index,
    };

    public static KeyValue Attr(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    public static KeyValue Attr(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };

    /// <summary>One span with resource, scope, span, event and link attributes carrying the kind of data seed 001 names.</summary>
    public static ExportTraceServiceRequest Trace(params KeyValue[] spanAttributes)
    {
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(Enumerable.Range(1, 16).Select(i => (byte)i).ToArray()),
            SpanId = ByteString.CopyFrom(Enumerable.Range(1, 8).Select(i => (byte)i).ToArray()),
            Name = "POST /checkout",
            StartTimeUnixNano = 1_700_000_000_000_000_000UL,
            EndTimeUnixNano = 1_700_000_000_000_001_000UL,
            Events = { new Span.Types.Event { Name = "login", TimeUnixNano = 1_700_000_000_000_000_500UL, Attributes = { Attr("user.email", "alice@example.com") } } },
            Links =
            {
                new Span.Types.Link
                {
                    TraceId = ByteString.CopyFrom(Enumerable.Range(17, 16).Select(i => (byte)i).ToArray()),
                    SpanId = ByteString.CopyFrom(Enumerable.Range(9, 8).Select(i => (byte)i).ToArray()),
                    Attributes = { Attr("user.email", "bob@example.com") },
                },
            },
        };
        span.Attributes.Add(spanAttributes);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(new ResourceSpans
        {
            Resource = new OtlpResource { Attributes = { Attr("service.name", "checkout"), Attr("host.name", "web-1") } },
            ScopeSpans = { new ScopeSpans { Scope = new InstrumentationScope { Name = "test", Attributes = { Attr("scope.owner", "payments") } }, Spans = { span } } },
        });
        return request;
    }

    public static ExportLogsServiceRequest Log(AnyValue body, params KeyValue[] attributes)
    {
        var record = new LogRecord { TimeUnixNano = 1_700_000_000_000_000_000UL, Body = body };
        record.Attributes.Add(attributes);
        var request = new ExportLogsServiceRequest();
        request.ResourceLogs.Add(new ResourceLogs
        {
            Resource = new OtlpResource { Attributes = { Attr("service.name", "checkout") } },
            ScopeLogs = { new ScopeLogs { LogRecords = { record } } },
        });
        return request;
    }

    public static ExportMetricsServiceRequest Gauge(params KeyValue[] attributes)
    {
        var point = new NumberDataPoint { TimeUnixNano = 1_700_000_000_000_000_000UL, AsInt = 7 };
        point.Attributes.Add(attributes);
        var request = new ExportMetricsServiceRequest();
        request.ResourceMetrics.Add(new ResourceMetrics
        {
            Resource = new OtlpResource { Attributes = { Attr("service.name", "checkout") } },
            ScopeMetrics = { new ScopeMetrics { Metrics = { new Metric { Name = "orders", Gauge = new Gauge { DataPoints = { point } } } } } },
        });
        return request;
    }

    public static Span OnlySpan(ExportTraceServiceRequest r) => r.ResourceSpans[0].ScopeSpans[0].Spans[0];

    /// <summary>Attributes as "key=value" (value as upstream's AsString), in order: one assertion shows the whole map.</summary>
    public static string[] Show(IEnumerable<KeyValue> attributes) =>
        [.. attributes.Select(kv => $"{kv.Key}={(kv.Value.ValueCase == AnyValue.ValueOneofCase.IntValue ? "int:" : "")}{OtlpItems.ScalarString(kv.Value) ?? kv.Value.ToString()}")];

    public static string Hmac(byte[] key, string value) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(key, System.Text.Encoding.UTF8.GetBytes(value)));

    public void Dispose() => _f.Dispose();
}
