using System.Globalization;
using System.Text;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Resource.V1;
using TraceSeal.Otlp;

namespace TraceSeal.Query;

/// <summary>What to look for in logs or metrics; every set filter must hold.</summary>
public sealed record SignalQuery
{
    /// <summary>Resource attribute service.name.</summary>
    public string? Service { get; init; }

    /// <summary>Metrics: the metric name. Logs: not used.</summary>
    public string? Name { get; init; }

    /// <summary>Case-insensitive text anywhere in a log's body, severity text or attribute values (metrics: in the name or description).</summary>
    public string? Text { get; init; }

    /// <summary>Logs: severity number at least this (OTLP SeverityNumber: 9 info, 13 warn, 17 error).</summary>
    public int MinSeverity { get; init; }

    /// <summary>Logs: only records of this trace (16 bytes).</summary>
    public byte[]? TraceId { get; init; }

    public DateTimeOffset? From { get; init; }

    public DateTimeOffset? To { get; init; }

    /// <summary>Only this tenant; null = every tenant.</summary>
    public string? Tenant { get; init; }

    /// <summary>At most this many records (the most recent ones); 0 = no limit.</summary>
    public int Limit { get; init; } = 100;
}

/// <summary>One log record with its resource, newest first in a <see cref="LogResult"/>.</summary>
public sealed record LogRow(ulong TimeUnixNano, string Service, LogRecord Record, Resource? Resource);

public sealed record LogResult(IReadOnlyList<LogRow> Rows, int OverLimit, IReadOnlyList<SkippedRecord> Skipped)
{
    /// <summary>The rows as one OTLP request (resource → scope → records), oldest first.</summary>
    public ExportLogsServiceRequest ToRequest()
    {
        var request = new ExportLogsServiceRequest();
        foreach (var row in Rows.Reverse())
        {
            var rl = new ResourceLogs { Resource = row.Resource };
            rl.ScopeLogs.Add(new ScopeLogs { LogRecords = { row.Record } });
            request.ResourceLogs.Add(rl);
        }

        return request;
    }
}

/// <summary>One metric with its resource; its data points are those in the time range.</summary>
public sealed record MetricRow(string Service, Metric Metric, Resource? Resource);

public sealed record MetricResult(IReadOnlyList<MetricRow> Rows, int OverLimit, IReadOnlyList<SkippedRecord> Skipped)
{
    public ExportMetricsServiceRequest ToRequest()
    {
        var request = new ExportMetricsServiceRequest();
        foreach (var row in Rows)
        {
            var rm = new ResourceMetrics { Resource = row.Resource };
            rm.ScopeMetrics.Add(new ScopeMetrics { Metrics = { row.Metric } });
            request.ResourceMetrics.Add(rm);
        }

        return request;
    }
}

/// <summary>Reads logs and metrics back: the store keeps them sealed like traces; the index covers traces only, so every record is read.</summary>
public static class SignalSearch
{
    public static LogResult Logs(StoreReader reader, SignalQuery query)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(query);
        var rows = new List<LogRow>();
        var skipped = new List<SkippedRecord>();
        ulong from = Nanos(query.From, 0), to = Nanos(query.To, ulong.MaxValue);
        foreach (var (rl, service) in Resources(reader, query, OtlpSignal.Logs, ExportLogsServiceRequest.Parser, r => r.ResourceLogs, r => r.Resource, skipped))
        {
            foreach (var log in rl.ScopeLogs.SelectMany(sl => sl.LogRecords))
            {
                ulong t = log.TimeUnixNano != 0 ? log.TimeUnixNano : log.ObservedTimeUnixNano;
                if (t < from || t > to || (int)log.SeverityNumber < query.MinSeverity
                    || (query.TraceId is { Length: 16 } id && !log.TraceId.Span.SequenceEqual(id))
                    || (query.Text is { Length: > 0 } text && !LogText(log).Contains(text, StringComparison.OrdinalIgnoreCase)))
                {
                    continue;
                }

                rows.Add(new LogRow(t, service, log, rl.Resource));
            }
        }

        rows.Sort(static (a, b) => b.TimeUnixNano.CompareTo(a.TimeUnixNano));
        int over = query.Limit > 0 && rows.Count > query.Limit ? rows.Count - query.Limit : 0;
        return new LogResult(over > 0 ? rows.GetRange(0, query.Limit) : rows, over, skipped);
    }

    public static MetricResult Metrics(StoreReader reader, SignalQuery query)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(query);
        var rows = new List<MetricRow>();
        var skipped = new List<SkippedRecord>();
        ulong from = Nanos(query.From, 0), to = Nanos(query.To, ulong.MaxValue);
        foreach (var (rm, service) in Resources(reader, query, OtlpSignal.Metrics, ExportMetricsServiceRequest.Parser, r => r.ResourceMetrics, r => r.Resource, skipped))
        {
            foreach (var metric in rm.ScopeMetrics.SelectMany(sm => sm.Metrics))
            {
                if ((query.Name is not null && !string.Equals(metric.Name, query.Name, StringComparison.Ordinal))
                    || (query.Text is { Length: > 0 } text && !(metric.Name + " " + metric.Description).Contains(text, StringComparison.OrdinalIgnoreCase))
                    || !KeepPoints(metric, from, to))
                {
                    continue;
                }

                rows.Add(new MetricRow(service, metric, rm.Resource));
            }
        }

        int over = query.Limit > 0 && rows.Count > query.Limit ? rows.Count - query.Limit : 0;
        return new MetricResult(over > 0 ? rows.GetRange(rows.Count - query.Limit, query.Limit) : rows, over, skipped);
    }

    /// <summary>Body, severity text and attribute values, for a text search.</summary>
    public static string LogText(LogRecord log)
    {
        ArgumentNullException.ThrowIfNull(log);
        var sb = new StringBuilder();
        sb.Append(log.SeverityText).Append(' ').Append(Render(log.Body));
        foreach (var kv in log.Attributes)
        {
            sb.Append(' ').Append(kv.Key).Append('=').Append(Render(kv.Value));
        }

        return sb.ToString();
    }

    /// <summary>Any value as one line of text (kvlists and arrays as JSON-like text, bytes as hex).</summary>
    public static string Render(AnyValue? v) => v is null ? "" : v.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => v.StringValue,
        AnyValue.ValueOneofCase.BytesValue => Convert.ToHexStringLower(v.BytesValue.Span),
        AnyValue.ValueOneofCase.ArrayValue => "[" + string.Join(", ", v.ArrayValue.Values.Select(Render)) + "]",
        AnyValue.ValueOneofCase.KvlistValue => "{" + string.Join(", ", v.KvlistValue.Values.Select(kv => kv.Key + ": " + Render(kv.Value))) + "}",
        AnyValue.ValueOneofCase.None => "",
        _ => SpanMatcher.Render(v) ?? "",
    };

    public static string ServiceName(Resource? resource)
    {
        if (resource is not null)
        {
            foreach (var kv in resource.Attributes)
            {
                if (kv.Key == "service.name" && kv.Value?.ValueCase == AnyValue.ValueOneofCase.StringValue)
                {
                    return kv.Value.StringValue;
                }
            }
        }

        return "";
    }

    /// <summary>The resource groups of every decodable record of a signal whose service.name passes the filter; undecodable records go to <paramref name="skipped"/>.</summary>
    private static IEnumerable<(TGroup Group, string Service)> Resources<TRequest, TGroup>(
        StoreReader reader, SignalQuery query, OtlpSignal signal, MessageParser<TRequest> parser,
        Func<TRequest, IEnumerable<TGroup>> groups, Func<TGroup, Resource?> resource, List<SkippedRecord> skipped)
        where TRequest : class, IMessage<TRequest>
    {
        foreach (var tenant in query.Tenant is null ? reader.Tenants() : [query.Tenant])
        {
            foreach (var record in reader.ReadRecords(tenant))
            {
                if (record.Signal != signal || !RecordParser.TryParse(parser, record, skipped, out var request))
                {
                    continue;
                }

                foreach (var group in groups(request))
                {
                    var service = ServiceName(resource(group));
                    if (query.Service is null || string.Equals(service, query.Service, StringComparison.Ordinal))
                    {
                        yield return (group, service);
                    }
                }
            }
        }
    }

    /// <summary>Drops the data points outside [from, to]; false when none is left.</summary>
    private static bool KeepPoints(Metric metric, ulong from, ulong to)
    {
        if (from == 0 && to == ulong.MaxValue)
        {
            return true;
        }

        bool Out(ulong t) => t < from || t > to;
        return metric.DataCase switch
        {
            Metric.DataOneofCase.Gauge => Filter(metric.Gauge.DataPoints, p => Out(p.TimeUnixNano)),
            Metric.DataOneofCase.Sum => Filter(metric.Sum.DataPoints, p => Out(p.TimeUnixNano)),
            Metric.DataOneofCase.Histogram => Filter(metric.Histogram.DataPoints, p => Out(p.TimeUnixNano)),
            Metric.DataOneofCase.ExponentialHistogram => Filter(metric.ExponentialHistogram.DataPoints, p => Out(p.TimeUnixNano)),
            Metric.DataOneofCase.Summary => Filter(metric.Summary.DataPoints, p => Out(p.TimeUnixNano)),
            _ => false,
        };
    }

    private static bool Filter<T>(Google.Protobuf.Collections.RepeatedField<T> points, Func<T, bool> drop)
    {
        var keep = points.Where(p => !drop(p)).ToList();
        points.Clear();
        points.Add(keep);
        return keep.Count > 0;
    }

    private static ulong Nanos(DateTimeOffset? t, ulong otherwise) =>
        t is not { } v ? otherwise : v <= DateTimeOffset.UnixEpoch ? 0 : (ulong)(v.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100UL;

    /// <summary>A nanosecond timestamp as RFC 3339 with milliseconds (UTC).</summary>
    public static string Time(ulong unixNano) =>
        DateTimeOffset.UnixEpoch.AddTicks((long)Math.Min(unixNano / 100, (ulong)(DateTimeOffset.MaxValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks)))
            .ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
}
