using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage;
using TraceSeal.Otlp;
using TraceSeal.Query;
using TraceSeal.Sealing;

namespace TraceSeal.Storage.Tests.TestSupport;

/// <summary>A temp directory with an `ops` and an `other` key pair (made now with KeyFiles.Init) and a store under `data`.</summary>
internal sealed class StoreFixture : IDisposable
{
    public StoreFixture()
    {
        Dir = Directory.CreateTempSubdirectory("traceseal-store-").FullName;
        KeyFiles.Init(Path.Combine(Dir, "keys"), "ops");
        KeyFiles.Init(Path.Combine(Dir, "keys"), "other");
    }

    public string Dir { get; }

    public string Store => Path.Combine(Dir, "data");

    public string Recipient => Path.Combine(Dir, "keys", "ops.recipient.pem");

    public string Identity => Path.Combine(Dir, "keys", "ops.identity.pem");

    public string OtherIdentity => Path.Combine(Dir, "keys", "other.identity.pem");

    public SealedStoreExporterSettings Settings(long segmentBytes = 16 << 20, long blockBytes = 64 << 20, long backlog = 1L << 30) => new()
    {
        Name = "sealed_store",
        Directory = Store,
        Recipients = [Recipient],
        Wal = new StoreWalSettings { SegmentBytes = segmentBytes, MaxBacklogBytes = backlog },
        Block = new StoreBlockSettings { MaxBytes = blockBytes, MaxAge = TimeSpan.FromHours(1) },
    };

    public async Task<SealedStoreExporter> StartAsync(SealedStoreExporterSettings? settings = null, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        var exporter = SealedStoreExporter.Create("sealed_store", settings ?? Settings(), Path.Combine(Dir, "collector.yaml"), logger ?? NullLogger.Instance);
        await exporter.StartAsync(CancellationToken.None);
        return exporter;
    }

    public StoreReader Reader(string? identity = null) => new(Store, [KeyFiles.LoadIdentity(identity ?? Identity)]);

    public IEnumerable<string> Files(string pattern) =>
        Directory.Exists(Store) ? Directory.GetFiles(Store, pattern, SearchOption.AllDirectories).Order(StringComparer.Ordinal) : [];

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static ReceivedBatch Batch(IMessage request, OtlpSignal signal = OtlpSignal.Traces, string tenant = "acme") => new()
    {
        Signal = signal,
        Payload = request.ToByteArray(),
        ItemCount = 1,
        Tenant = tenant,
        Identity = "uri:spiffe://corp/ns/payments/sa/api",
        Receiver = "otlp",
    };

    public static byte[] TraceId(int n)
    {
        var id = new byte[16];
        id[0] = 0xA0;
        id[15] = (byte)n;
        id[14] = (byte)(n >> 8);
        return id;
    }

    /// <summary>One request: service <paramref name="service"/>, one span per trace number, parent/child pairs when <paramref name="children"/>.</summary>
    public static ExportTraceServiceRequest Request(string service, int[] traces, string name = "GET /cart", bool children = false, string? marker = null)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "test-scope", Version = "1.0" } };
        foreach (var t in traces)
        {
            var span = NewSpan(t, 1, name, 1_700_000_000_000_000_000UL + ((ulong)t * 1_000_000UL), 5_000_000UL * (ulong)(t % 7 + 1));
            if (marker is not null)
            {
                span.Attributes.Add(new KeyValue { Key = "marker", Value = new AnyValue { StringValue = marker } });
            }

            span.Attributes.Add(new KeyValue { Key = "http.status_code", Value = new AnyValue { IntValue = 200 + t } });
            scope.Spans.Add(span);
            if (children)
            {
                var child = NewSpan(t, 2, "db.query", span.StartTimeUnixNano + 1_000_000, 1_000_000);
                child.ParentSpanId = span.SpanId;
                scope.Spans.Add(child);
            }
        }

        return new ExportTraceServiceRequest
        {
            ResourceSpans =
            {
                new ResourceSpans
                {
                    Resource = new Resource { Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = service } } } },
                    ScopeSpans = { scope },
                },
            },
        };
    }

    private static Span NewSpan(int trace, int n, string name, ulong start, ulong duration)
    {
        var spanId = new byte[8];
        spanId[0] = (byte)n;
        spanId[6] = (byte)(trace >> 8);
        spanId[7] = (byte)trace;
        return new Span
        {
            TraceId = ByteString.CopyFrom(TraceId(trace)),
            SpanId = ByteString.CopyFrom(spanId),
            Name = name,
            Kind = Span.Types.SpanKind.Server,
            StartTimeUnixNano = start,
            EndTimeUnixNano = start + duration,
        };
    }

    /// <summary>The requests' resource spans in order, as one request: what a query for all of them returns.</summary>
    public static ExportTraceServiceRequest Merge(params ExportTraceServiceRequest[] requests)
    {
        var merged = new ExportTraceServiceRequest();
        foreach (var r in requests)
        {
            merged.ResourceSpans.Add(r.ResourceSpans.Select(rs => rs.Clone()));
        }

        return merged;
    }
}
