using System.IO.Compression;
using System.Text;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.TestSupport;

/// <summary>Valid OTLP requests of a known size, and the wire wrappings tests need (gzip, deflate, gRPC frames).</summary>
internal static class OtlpTestData
{
    private const ulong Start = 1_700_000_000_000_000_000UL;

    public static byte[] Traces(int spans)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "test" } };
        for (int i = 0; i < spans; i++)
        {
            byte[] traceId = new byte[16];
            byte[] spanId = new byte[8];
            BitConverter.TryWriteBytes(traceId, (long)i + 1);
            traceId[15] = 0xAB;
            BitConverter.TryWriteBytes(spanId, (long)i + 1);
            scope.Spans.Add(new Span
            {
                TraceId = ByteString.CopyFrom(traceId),
                SpanId = ByteString.CopyFrom(spanId),
                Name = "GET /checkout",
                Kind = Span.Types.SpanKind.Server,
                StartTimeUnixNano = Start + (ulong)i,
                EndTimeUnixNano = Start + (ulong)i + 1000,
            });
        }

        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(new ResourceSpans { Resource = ServiceResource(), ScopeSpans = { scope } });
        return request.ToByteArray();
    }

    /// <summary>
    /// A valid trace request of about <paramref name="bytes"/> bytes that compresses about a thousandfold: a few spans
    /// with one long attribute each (the "20 KB of gzip that inflate to 21 MB" of issue 10).
    /// </summary>
    public static byte[] TracesOfSize(int bytes, int spans = 20)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "test" } };
        string filler = new('x', bytes / spans);
        for (int i = 0; i < spans; i++)
        {
            byte[] traceId = new byte[16];
            byte[] spanId = new byte[8];
            BitConverter.TryWriteBytes(traceId, (long)i + 1);
            traceId[15] = 0xCD;
            BitConverter.TryWriteBytes(spanId, (long)i + 1);
            scope.Spans.Add(new Span
            {
                TraceId = ByteString.CopyFrom(traceId),
                SpanId = ByteString.CopyFrom(spanId),
                Name = "bulk",
                StartTimeUnixNano = Start + (ulong)i,
                EndTimeUnixNano = Start + (ulong)i + 1000,
                Attributes = { new KeyValue { Key = "filler", Value = new AnyValue { StringValue = filler } } },
            });
        }

        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(new ResourceSpans { Resource = ServiceResource(), ScopeSpans = { scope } });
        return request.ToByteArray();
    }

    public static byte[] Metrics(int points)
    {
        var gauge = new Gauge();
        for (int i = 0; i < points; i++)
        {
            gauge.DataPoints.Add(new NumberDataPoint { TimeUnixNano = Start + (ulong)i, AsDouble = i });
        }

        var request = new ExportMetricsServiceRequest();
        request.ResourceMetrics.Add(new ResourceMetrics
        {
            Resource = ServiceResource(),
            ScopeMetrics = { new ScopeMetrics { Metrics = { new Metric { Name = "queue.depth", Gauge = gauge } } } },
        });
        return request.ToByteArray();
    }

    public static byte[] Logs(int records)
    {
        var scope = new ScopeLogs();
        for (int i = 0; i < records; i++)
        {
            scope.LogRecords.Add(new LogRecord { TimeUnixNano = Start + (ulong)i, Body = new AnyValue { StringValue = "hello" } });
        }

        var request = new ExportLogsServiceRequest();
        request.ResourceLogs.Add(new ResourceLogs { Resource = ServiceResource(), ScopeLogs = { scope } });
        return request.ToByteArray();
    }

    public static byte[] Json(byte[] protobuf, OtlpSignal signal) => Encoding.UTF8.GetBytes(OtlpJson.ToJson(protobuf, signal));

    public static byte[] Gzip(byte[] data, CompressionLevel level = CompressionLevel.Fastest)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, level, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    /// <summary>HTTP "deflate" = zlib format.</summary>
    public static byte[] Deflate(byte[] data)
    {
        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            zlib.Write(data);
        }

        return output.ToArray();
    }

    /// <summary>A gzip bomb: <paramref name="size"/> zero bytes, a few KiB compressed.</summary>
    public static byte[] GzipBomb(int size) => Gzip(new byte[size]);

    /// <summary>gRPC Length-Prefixed-Message.</summary>
    public static byte[] GrpcFrame(byte[] message, bool compressed = false, uint? declaredLength = null)
    {
        byte[] frame = new byte[5 + message.Length];
        frame[0] = compressed ? (byte)1 : (byte)0;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength ?? (uint)message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    private static Resource ServiceResource() => new()
    {
        Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = "checkout" } } },
    };
}
