using OpenTelemetry.Proto.Collector.Trace.V1;
using TraceSeal.Otlp;
using TraceSeal.Query;
using TraceSeal.Sealing;

namespace TraceSeal.Storage.Tests.Crash;

/// <summary>
/// Spans per trace id over a whole sealed store, read with the reader library (every object authenticated;
/// any integrity error throws), compared with what the load client saw acknowledged.
/// </summary>
internal sealed class StoredTraces
{
    private readonly Dictionary<TraceKey, int> _spans;

    private StoredTraces(Dictionary<TraceKey, int> spans)
    {
        _spans = spans;
    }

    public int Traces => _spans.Count;

    public long Spans => _spans.Values.Sum(n => (long)n);

    /// <summary>Trace ids stored more than once (at-least-once delivery: a replay after a kill).</summary>
    public int Duplicated => _spans.Values.Count(n => n > LoadClient.SpansPerRequest);

    /// <summary>Copies beyond the first, over all trace ids.</summary>
    public int ExtraCopies => _spans.Values.Sum(n => Math.Max(0, n / LoadClient.SpansPerRequest - 1));

    /// <summary>Every trace id holds whole requests only (never a partial request).</summary>
    public bool WholeRequestsOnly => _spans.Values.All(n => n % LoadClient.SpansPerRequest == 0);

    /// <summary>Reads the store under <paramref name="directory"/> (live WAL, recovered segments, blocks).</summary>
    public static StoredTraces Read(string directory, string identityFile)
    {
        var reader = new StoreReader(directory, [KeyFiles.LoadIdentity(identityFile)]);
        var spans = new Dictionary<TraceKey, int>();
        foreach (var tenant in reader.Tenants())
        {
            foreach (var record in reader.ReadRecords(tenant))
            {
                if (record.Signal != OtlpSignal.Traces)
                {
                    continue;
                }

                var request = ExportTraceServiceRequest.Parser.ParseFrom(record.Payload.Span);
                foreach (var span in request.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans))
                {
                    var key = TraceKey.From(span.TraceId.Span);
                    spans[key] = spans.GetValueOrDefault(key) + 1;
                }
            }
        }

        return new StoredTraces(spans);
    }

    public List<TraceKey> Missing(IEnumerable<TraceKey> acknowledged) => [.. acknowledged.Where(id => !_spans.ContainsKey(id))];

    /// <summary>Stored although the client never saw the 200: written, but the answer was lost in the kill.</summary>
    public int NotAcknowledged(IReadOnlyDictionary<TraceKey, byte> acknowledged) => _spans.Keys.Count(id => !acknowledged.ContainsKey(id));

    public static string Describe(IEnumerable<TraceKey> ids) =>
        string.Join(", ", ids.Take(10).Select(k => Convert.ToHexStringLower(k.ToBytes())));
}
