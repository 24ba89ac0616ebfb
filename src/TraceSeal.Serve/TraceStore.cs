using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using Microsoft.Extensions.Logging;
using TraceSeal.Otlp;
using TraceSeal.Query;

namespace TraceSeal.Serve;

/// <summary>
/// The store as serve reads it: a <see cref="StoreReader"/> (the identity key stays inside it), at most
/// <see cref="ServeOptions.MaxConcurrentReads"/> reads at a time, and a catalog (services, operations, tag names and
/// values) rebuilt from a full read at most once per <see cref="ServeOptions.CatalogTtl"/>.
/// </summary>
internal sealed class TraceStore : IDisposable
{
    /// <summary>Tag names kept per scope and values kept per tag: a catalog is for pickers, not an export.</summary>
    internal const int MaxTags = 1000;
    internal const int MaxValuesPerTag = 500;

    private readonly StoreReader _reader;
    private readonly ServeOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate;
    private readonly SemaphoreSlim _catalogGate = new(1, 1);
    private Catalog? _catalog;

    public TraceStore(StoreReader reader, ServeOptions options, ILogger logger, TimeProvider? time = null)
    {
        _reader = reader;
        _options = options;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _gate = new SemaphoreSlim(options.MaxConcurrentReads, options.MaxConcurrentReads);
    }

    public bool SeesLiveWal => _reader.SeesLiveWal;

    /// <summary>Every span of one trace; null when the store has none.</summary>
    public Task<TraceView?> TraceAsync(UInt128 id, CancellationToken cancellationToken) => ReadAsync(() =>
    {
        var result = _reader.Query(new TraceQuery { TraceId = IdBytes(id), Tenant = _options.Tenant, Limit = 0 });
        Report(result.Skipped);
        return TraceView.From(result.Request).FirstOrDefault();
    }, cancellationToken);

    /// <summary>Whole traces with a span that matches (newest first), and how many more matched beyond the limit.</summary>
    public Task<(List<TraceView> Traces, int Over)> SearchAsync(TraceQuery query, CancellationToken cancellationToken) => ReadAsync(() =>
    {
        var result = TraceSearch.WholeTraces(_reader, query with { Tenant = _options.Tenant });
        Report(result.Skipped);
        return (TraceView.From(result.Request), result.TracesOverLimit);
    }, cancellationToken);

    public Task<LogResult> LogsAsync(SignalQuery query, CancellationToken cancellationToken) => ReadAsync(() =>
    {
        var result = SignalSearch.Logs(_reader, query with { Tenant = _options.Tenant });
        Report(result.Skipped);
        return result;
    }, cancellationToken);

    public async Task<Catalog> CatalogAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (Volatile.Read(ref _catalog) is { } fresh && now - fresh.Built < _options.CatalogTtl)
        {
            return fresh;
        }

        await _catalogGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_catalog is { } again && _time.GetUtcNow() - again.Built < _options.CatalogTtl)
            {
                return again; // another request rebuilt it while this one waited
            }

            var built = await ReadAsync(BuildCatalog, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _catalog, built);
            return built;
        }
        finally
        {
            _catalogGate.Release();
        }
    }

    public void Dispose()
    {
        _gate.Dispose();
        _catalogGate.Dispose();
    }

    private async Task<T> ReadAsync<T>(Func<T> read, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The reader is synchronous (files or S3 with blocking waits): off the request thread.
            return await Task.Run(read, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private Catalog BuildCatalog()
    {
        var catalog = new Catalog(_time.GetUtcNow());
        var skipped = new List<SkippedRecord>();
        foreach (var tenant in _options.Tenant is null ? _reader.Tenants() : [_options.Tenant])
        {
            foreach (var record in _reader.ReadRecords(tenant))
            {
                if (record.Signal == OtlpSignal.Traces && RecordParser.TryParse(ExportTraceServiceRequest.Parser, record, skipped, out var request))
                {
                    catalog.Add(request);
                }
            }
        }

        Report(skipped);
        return catalog;
    }

    private static byte[] IdBytes(UInt128 id)
    {
        var bytes = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(bytes, id);
        return bytes;
    }

    private void Report(IReadOnlyList<SkippedRecord> skipped)
    {
        foreach (var s in skipped)
        {
            ServeLog.RecordSkipped(_logger, s.ObjectPath, s.Signal.ToString(), s.Reason);
        }
    }
}

/// <summary>Services, their operations (span name and kind), and attribute names and values by scope.</summary>
internal sealed class Catalog(DateTimeOffset built)
{
    public DateTimeOffset Built { get; } = built;

    public SortedDictionary<string, SortedSet<(string Name, string Kind)>> Operations { get; } = new(StringComparer.Ordinal);

    public SortedDictionary<string, Dictionary<string, TagValue>> SpanTags { get; } = new(StringComparer.Ordinal);

    public SortedDictionary<string, Dictionary<string, TagValue>> ResourceTags { get; } = new(StringComparer.Ordinal);

    public void Add(ExportTraceServiceRequest request)
    {
        foreach (var rs in request.ResourceSpans)
        {
            var service = SignalSearch.ServiceName(rs.Resource);
            if (!Operations.TryGetValue(service, out var ops))
            {
                Operations[service] = ops = [];
            }

            if (rs.Resource is not null)
            {
                AddTags(ResourceTags, rs.Resource.Attributes);
            }

            foreach (var ss in rs.ScopeSpans)
            {
                foreach (var span in ss.Spans)
                {
                    if (ops.Count < TraceStore.MaxValuesPerTag)
                    {
                        ops.Add((span.Name, Jaeger.JaegerJson.Kind(span.Kind)));
                    }

                    AddTags(SpanTags, span.Attributes);
                }
            }
        }
    }

    private static void AddTags(SortedDictionary<string, Dictionary<string, TagValue>> into, IEnumerable<KeyValue> attributes)
    {
        foreach (var kv in attributes)
        {
            if (!into.TryGetValue(kv.Key, out var values))
            {
                if (into.Count >= TraceStore.MaxTags)
                {
                    continue;
                }

                into[kv.Key] = values = new Dictionary<string, TagValue>(StringComparer.Ordinal);
            }

            if (values.Count < TraceStore.MaxValuesPerTag && TagValue.From(kv.Value) is { } v)
            {
                values.TryAdd(v.Value, v);
            }
        }
    }
}

/// <summary>A tag value as Tempo's v2 tag-values API types it: string, int, double or bool.</summary>
internal sealed record TagValue(string Type, string Value)
{
    public static TagValue? From(AnyValue? v) => v?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => new TagValue("string", v.StringValue),
        AnyValue.ValueOneofCase.IntValue => new TagValue("int", v.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        AnyValue.ValueOneofCase.DoubleValue => new TagValue("double", v.DoubleValue.ToString("R", System.Globalization.CultureInfo.InvariantCulture)),
        AnyValue.ValueOneofCase.BoolValue => new TagValue("bool", v.BoolValue ? "true" : "false"),
        _ => null,
    };
}
