using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace TraceSeal.Serve.Tests.TestSupport;

/// <summary>
/// The telemetry the serve and query tests store: a three-span checkout trace across two services whose middle span
/// failed (status error, an exception event), plus healthy traces, logs and a metric. Times are recent so "last hour" finds them.
/// </summary>
internal static class ServeData
{
    public static readonly ulong T0 = (ulong)(DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds() * 1_000_000L);

    public static readonly byte[] FailingTrace = Id(16, 0xF0);

    public static string FailingTraceHex => Convert.ToHexStringLower(FailingTrace);

    public static byte[] HealthyTrace(int n) => Id(16, (byte)(0x10 + n));

    public static byte[] SpanId(int n) => Id(8, (byte)n);

    /// <summary>frontend "GET /checkout" (server) → frontend "POST /cart" (client) → cart "POST /cart" (server, error 500).</summary>
    public static ExportTraceServiceRequest Failing()
    {
        var root = NewSpan(FailingTrace, 1, null, "GET /checkout", Span.Types.SpanKind.Server, T0, 120_000_000);
        root.Attributes.Add(Attr("http.method", "GET"));
        root.Attributes.Add(Attr("http.status_code", 500));
        var call = NewSpan(FailingTrace, 2, SpanId(1), "POST /cart", Span.Types.SpanKind.Client, T0 + 10_000_000, 90_000_000);
        var cart = NewSpan(FailingTrace, 3, SpanId(2), "POST /cart", Span.Types.SpanKind.Server, T0 + 15_000_000, 80_000_000);
        cart.Attributes.Add(Attr("http.status_code", 500));
        cart.Attributes.Add(Attr("cart.items", 3));
        cart.Status = new Status { Code = Status.Types.StatusCode.Error, Message = "inventory unavailable" };
        cart.Events.Add(new Span.Types.Event
        {
            Name = "exception",
            TimeUnixNano = T0 + 60_000_000,
            Attributes = { Attr("exception.type", "InventoryException"), Attr("exception.message", "item 42 out of stock") },
        });
        cart.Links.Add(new Span.Types.Link { TraceId = ByteString.CopyFrom(HealthyTrace(1)), SpanId = ByteString.CopyFrom(SpanId(1)) });
        return new ExportTraceServiceRequest
        {
            ResourceSpans =
            {
                Resource("frontend", Scope(root, call)),
                Resource("cart", Scope(cart)),
            },
        };
    }

    /// <summary>Healthy one-span traces of frontend "GET /" (n = 1..count).</summary>
    public static ExportTraceServiceRequest Healthy(int count)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "test", Version = "1.0" } };
        for (int n = 1; n <= count; n++)
        {
            var span = NewSpan(HealthyTrace(n), 1, null, "GET /", Span.Types.SpanKind.Server, T0 + (ulong)n * 1_000_000_000UL, 2_000_000);
            span.Attributes.Add(Attr("http.status_code", 200));
            span.Status = new Status { Code = Status.Types.StatusCode.Ok };
            scope.Spans.Add(span);
        }

        return new ExportTraceServiceRequest { ResourceSpans = { new ResourceSpans { Resource = ServiceResource("frontend"), ScopeSpans = { scope } } } };
    }

    public static ExportLogsServiceRequest Logs() => new()
    {
        ResourceLogs =
        {
            new ResourceLogs
            {
                Resource = ServiceResource("cart"),
                ScopeLogs =
                {
                    new ScopeLogs
                    {
                        LogRecords =
                        {
                            new LogRecord
                            {
                                TimeUnixNano = T0 + 60_000_000, SeverityNumber = SeverityNumber.Error, SeverityText = "ERROR",
                                Body = new AnyValue { StringValue = "checkout failed: item 42 out of stock" },
                                TraceId = ByteString.CopyFrom(FailingTrace), SpanId = ByteString.CopyFrom(SpanId(3)),
                                Attributes = { Attr("order.id", "A-1001") },
                            },
                            new LogRecord
                            {
                                TimeUnixNano = T0 + 1_000_000, SeverityNumber = SeverityNumber.Info, SeverityText = "INFO",
                                Body = new AnyValue { StringValue = "cart service ready" },
                            },
                        },
                    },
                },
            },
        },
    };

    public static ExportMetricsServiceRequest Metrics() => new()
    {
        ResourceMetrics =
        {
            new ResourceMetrics
            {
                Resource = ServiceResource("cart"),
                ScopeMetrics =
                {
                    new ScopeMetrics
                    {
                        Metrics =
                        {
                            new Metric
                            {
                                Name = "cart.checkouts", Unit = "1",
                                Sum = new Sum
                                {
                                    IsMonotonic = true, AggregationTemporality = AggregationTemporality.Cumulative,
                                    DataPoints = { new NumberDataPoint { TimeUnixNano = T0, AsInt = 7, Attributes = { Attr("outcome", "failed") } } },
                                },
                            },
                        },
                    },
                },
            },
        },
    };

    /// <summary>An AnyValue nested <paramref name="depth"/> levels (level 1 = the attribute's own value), innermost a string.</summary>
    public static AnyValue Nested(int depth)
    {
        var value = new AnyValue { StringValue = "deepest" };
        for (int level = depth; level > 1; level--)
        {
            value = new AnyValue { KvlistValue = new KeyValueList { Values = { new KeyValue { Key = "l" + level, Value = value } } } };
        }

        return value;
    }

    public static KeyValue Attr(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    public static KeyValue Attr(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };

    public static Span NewSpan(byte[] traceId, int n, byte[]? parent, string name, Span.Types.SpanKind kind, ulong start, ulong duration) => new()
    {
        TraceId = ByteString.CopyFrom(traceId),
        SpanId = ByteString.CopyFrom(SpanId(n)),
        ParentSpanId = parent is null ? ByteString.Empty : ByteString.CopyFrom(parent),
        Name = name,
        Kind = kind,
        StartTimeUnixNano = start,
        EndTimeUnixNano = start + duration,
    };

    public static Resource ServiceResource(string service) => new()
    {
        Attributes = { Attr("service.name", service), Attr("deployment.environment", "test") },
    };

    private static ResourceSpans Resource(string service, ScopeSpans scope) => new() { Resource = ServiceResource(service), ScopeSpans = { scope } };

    private static ScopeSpans Scope(params Span[] spans) => new() { Scope = new InstrumentationScope { Name = "shop", Version = "2.1" }, Spans = { spans } };

    private static byte[] Id(int length, byte marker)
    {
        var id = new byte[length];
        id[0] = 0xA5;
        id[^1] = marker;
        return id;
    }
}
