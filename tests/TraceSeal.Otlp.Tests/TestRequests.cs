using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace TraceSeal.Otlp.Tests;

/// <summary>Requests built with the generated classes, so the validator is checked against the reference encoder.</summary>
internal static class TestRequests
{
    public const ulong BaseTime = 1_544_712_660_000_000_000;

    public static byte[] TraceId(int i) => [.. BitConverter.GetBytes((long)i + 1), .. BitConverter.GetBytes(0x1122334455667788L)];

    public static byte[] SpanId(int i) => BitConverter.GetBytes((long)i + 0x100);

    public static Span NewSpan(int i) => new()
    {
        TraceId = ByteString.CopyFrom(TraceId(i)),
        SpanId = ByteString.CopyFrom(SpanId(i)),
        Name = "span-" + i,
        Kind = Span.Types.SpanKind.Server,
        StartTimeUnixNano = BaseTime + (ulong)i * 1000,
        EndTimeUnixNano = BaseTime + (ulong)i * 1000 + 500,
        Flags = 0x101,
        Attributes = { Attr("http.method", "GET"), new KeyValue { Key = "n", Value = new AnyValue { IntValue = i } } },
    };

    public static KeyValue Attr(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    public static ExportTraceServiceRequest Traces(int spans, string service = "checkout")
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "lib", Version = "1.0" } };
        for (int i = 0; i < spans; i++)
        {
            scope.Spans.Add(NewSpan(i));
        }

        return new ExportTraceServiceRequest
        {
            ResourceSpans =
            {
                new ResourceSpans
                {
                    Resource = new Resource { Attributes = { Attr("host.name", "h1"), Attr("service.name", service) } },
                    ScopeSpans = { scope },
                },
            },
        };
    }

    public static ExportTraceServiceRequest RequestWith(Span span) => new()
    {
        ResourceSpans = { new ResourceSpans { ScopeSpans = { new ScopeSpans { Spans = { span } } } } },
    };

    public static ExportMetricsServiceRequest Metrics()
    {
        var scope = new ScopeMetrics();
        scope.Metrics.Add(new Metric
        {
            Name = "g",
            Gauge = new Gauge { DataPoints = { new NumberDataPoint { TimeUnixNano = BaseTime, AsDouble = 1.5 } } },
        });
        scope.Metrics.Add(new Metric
        {
            Name = "s",
            Sum = new Sum
            {
                AggregationTemporality = AggregationTemporality.Cumulative,
                IsMonotonic = true,
                DataPoints =
                {
                    new NumberDataPoint { StartTimeUnixNano = BaseTime - 10, TimeUnixNano = BaseTime + 10, AsInt = 7 },
                    new NumberDataPoint
                    {
                        StartTimeUnixNano = BaseTime, TimeUnixNano = BaseTime + 20, AsInt = 8,
                        Exemplars = { new Exemplar { AsInt = 1, TraceId = ByteString.CopyFrom(TraceId(1)), SpanId = ByteString.CopyFrom(SpanId(1)) } },
                    },
                },
            },
        });
        scope.Metrics.Add(new Metric
        {
            Name = "h",
            Histogram = new Histogram
            {
                AggregationTemporality = AggregationTemporality.Delta,
                DataPoints = { new HistogramDataPoint { TimeUnixNano = BaseTime, Count = 3, Sum = 2, BucketCounts = { 1, 2 }, ExplicitBounds = { 0.5 } } },
            },
        });
        scope.Metrics.Add(new Metric
        {
            Name = "e",
            ExponentialHistogram = new ExponentialHistogram
            {
                DataPoints =
                {
                    new ExponentialHistogramDataPoint
                    {
                        TimeUnixNano = BaseTime, Count = 3, Scale = -2, Positive = new ExponentialHistogramDataPoint.Types.Buckets { Offset = -1, BucketCounts = { 1, 2, 300 } },
                    },
                },
            },
        });
        scope.Metrics.Add(new Metric
        {
            Name = "q",
            Summary = new Summary
            {
                DataPoints = { new SummaryDataPoint { TimeUnixNano = BaseTime, Count = 1, Sum = 1, QuantileValues = { new SummaryDataPoint.Types.ValueAtQuantile { Quantile = 0.5, Value = 1 } } } },
            },
        });
        return new ExportMetricsServiceRequest
        {
            ResourceMetrics = { new ResourceMetrics { Resource = new Resource { Attributes = { Attr("service.name", "m") } }, ScopeMetrics = { scope } } },
        };
    }

    public static ExportLogsServiceRequest Logs() => new()
    {
        ResourceLogs =
        {
            new ResourceLogs
            {
                ScopeLogs =
                {
                    new ScopeLogs
                    {
                        LogRecords =
                        {
                            new LogRecord { TimeUnixNano = BaseTime, SeverityNumber = SeverityNumber.Info, Body = new AnyValue { StringValue = "hello" } },
                            new LogRecord
                            {
                                ObservedTimeUnixNano = BaseTime + 5, TraceId = ByteString.CopyFrom(TraceId(2)), SpanId = ByteString.CopyFrom(SpanId(2)),
                                Body = new AnyValue { KvlistValue = new KeyValueList { Values = { Attr("k", "v") } } }, EventName = "ev",
                            },
                        },
                    },
                },
            },
        },
    };

    /// <summary>AnyValue nested through array_value <paramref name="depth"/> levels deep (1 = a plain value).</summary>
    public static AnyValue NestedValue(int depth)
    {
        var value = new AnyValue { StringValue = "leaf" };
        for (int i = 1; i < depth; i++)
        {
            value = new AnyValue { ArrayValue = new ArrayValue { Values = { value } } };
        }

        return value;
    }
}
