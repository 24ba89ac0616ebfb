using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OtlpResource = OpenTelemetry.Proto.Resource.V1.Resource;

namespace TraceSeal.Collector.Processors.Transform;

/// <summary>
/// Where attributes live in a decoded export request, per signal, and the few map operations the processors share
/// (upstream's pcommon.Map: Get, Put, Remove, AsString). Attribute maps are repeated KeyValue fields; OTLP forbids
/// duplicate keys but the wire does not, so removals remove every entry with the key (a duplicate must not carry a
/// value past a `delete`), and rewrites touch every entry with the key.
/// </summary>
internal static class OtlpItems
{
    /// <summary>The resource of every resource group; with <paramref name="create"/> a missing one is added (the resource processor may insert).</summary>
    public static IEnumerable<OtlpResource> Resources(IMessage request, bool create)
    {
        switch (request)
        {
            case ExportTraceServiceRequest t:
                foreach (var rs in t.ResourceSpans)
                {
                    if (rs.Resource is null && create)
                    {
                        rs.Resource = new OtlpResource();
                    }

                    if (rs.Resource is not null)
                    {
                        yield return rs.Resource;
                    }
                }

                break;
            case ExportMetricsServiceRequest m:
                foreach (var rm in m.ResourceMetrics)
                {
                    if (rm.Resource is null && create)
                    {
                        rm.Resource = new OtlpResource();
                    }

                    if (rm.Resource is not null)
                    {
                        yield return rm.Resource;
                    }
                }

                break;
            case ExportLogsServiceRequest l:
                foreach (var rl in l.ResourceLogs)
                {
                    if (rl.Resource is null && create)
                    {
                        rl.Resource = new OtlpResource();
                    }

                    if (rl.Resource is not null)
                    {
                        yield return rl.Resource;
                    }
                }

                break;
        }
    }

    /// <summary>
    /// The attributes the `attributes` processor acts on, as upstream: span attributes (not events or links), log
    /// record attributes, metric data point attributes (every point type).
    /// </summary>
    public static IEnumerable<RepeatedField<KeyValue>> ItemAttributes(IMessage request)
    {
        switch (request)
        {
            case ExportTraceServiceRequest t:
                foreach (var rs in t.ResourceSpans)
                {
                    foreach (var ss in rs.ScopeSpans)
                    {
                        foreach (var span in ss.Spans)
                        {
                            yield return span.Attributes;
                        }
                    }
                }

                break;
            case ExportMetricsServiceRequest m:
                foreach (var rm in m.ResourceMetrics)
                {
                    foreach (var sm in rm.ScopeMetrics)
                    {
                        foreach (var metric in sm.Metrics)
                        {
                            foreach (var attributes in DataPointAttributes(metric))
                            {
                                yield return attributes;
                            }
                        }
                    }
                }

                break;
            case ExportLogsServiceRequest l:
                foreach (var log in LogRecords(l))
                {
                    yield return log.Attributes;
                }

                break;
        }
    }

    /// <summary>
    /// Every attribute map of a request: resource, scope, item (span, log record, data point) and, for spans, event and
    /// link attributes. Upstream's redaction skips links; a scrubber that lets a link carry what it removes from a span
    /// protects nothing, so TraceSeal includes them.
    /// </summary>
    public static IEnumerable<RepeatedField<KeyValue>> AllAttributes(IMessage request)
    {
        foreach (var resource in Resources(request, create: false))
        {
            yield return resource.Attributes;
        }

        switch (request)
        {
            case ExportTraceServiceRequest t:
                foreach (var rs in t.ResourceSpans)
                {
                    foreach (var ss in rs.ScopeSpans)
                    {
                        if (ss.Scope is not null)
                        {
                            yield return ss.Scope.Attributes;
                        }

                        foreach (var span in ss.Spans)
                        {
                            yield return span.Attributes;
                            foreach (var e in span.Events)
                            {
                                yield return e.Attributes;
                            }

                            foreach (var link in span.Links)
                            {
                                yield return link.Attributes;
                            }
                        }
                    }
                }

                break;
            case ExportMetricsServiceRequest m:
                foreach (var rm in m.ResourceMetrics)
                {
                    foreach (var sm in rm.ScopeMetrics)
                    {
                        if (sm.Scope is not null)
                        {
                            yield return sm.Scope.Attributes;
                        }

                        foreach (var metric in sm.Metrics)
                        {
                            foreach (var attributes in DataPointAttributes(metric))
                            {
                                yield return attributes;
                            }
                        }
                    }
                }

                break;
            case ExportLogsServiceRequest l:
                foreach (var rl in l.ResourceLogs)
                {
                    foreach (var sl in rl.ScopeLogs)
                    {
                        if (sl.Scope is not null)
                        {
                            yield return sl.Scope.Attributes;
                        }

                        foreach (var log in sl.LogRecords)
                        {
                            yield return log.Attributes;
                        }
                    }
                }

                break;
        }
    }

    public static IEnumerable<LogRecord> LogRecords(ExportLogsServiceRequest request)
    {
        foreach (var rl in request.ResourceLogs)
        {
            foreach (var sl in rl.ScopeLogs)
            {
                foreach (var log in sl.LogRecords)
                {
                    yield return log;
                }
            }
        }
    }

    /// <summary>The attributes of each data point of <paramref name="metric"/>, whatever its type.</summary>
    public static IEnumerable<RepeatedField<KeyValue>> DataPointAttributes(Metric metric)
    {
        switch (metric.DataCase)
        {
            case Metric.DataOneofCase.Gauge:
                foreach (var p in metric.Gauge.DataPoints)
                {
                    yield return p.Attributes;
                }

                break;
            case Metric.DataOneofCase.Sum:
                foreach (var p in metric.Sum.DataPoints)
                {
                    yield return p.Attributes;
                }

                break;
            case Metric.DataOneofCase.Histogram:
                foreach (var p in metric.Histogram.DataPoints)
                {
                    yield return p.Attributes;
                }

                break;
            case Metric.DataOneofCase.ExponentialHistogram:
                foreach (var p in metric.ExponentialHistogram.DataPoints)
                {
                    yield return p.Attributes;
                }

                break;
            case Metric.DataOneofCase.Summary:
                foreach (var p in metric.Summary.DataPoints)
                {
                    yield return p.Attributes;
                }

                break;
        }
    }

    /// <summary>Runs <paramref name="apply"/> on every map (no short-circuit); true when any call changed its map.</summary>
    public static bool ApplyToEach(IEnumerable<RepeatedField<KeyValue>> maps, Func<RepeatedField<KeyValue>, bool> apply)
    {
        bool changed = false;
        foreach (var map in maps)
        {
            changed |= apply(map);
        }

        return changed;
    }

    /// <summary>Index of the first entry with <paramref name="key"/>, or -1.</summary>
    public static int IndexOf(RepeatedField<KeyValue> attributes, string key)
    {
        for (int i = 0; i < attributes.Count; i++)
        {
            if (string.Equals(attributes[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    public static AnyValue? Get(RepeatedField<KeyValue> attributes, string key)
    {
        int i = IndexOf(attributes, key);
        return i < 0 ? null : attributes[i].Value ?? new AnyValue();
    }

    /// <summary>Sets every entry with <paramref name="key"/> to a copy of <paramref name="value"/>, or adds one.</summary>
    public static void Put(RepeatedField<KeyValue> attributes, string key, AnyValue value)
    {
        bool found = false;
        foreach (var kv in attributes)
        {
            if (string.Equals(kv.Key, key, StringComparison.Ordinal))
            {
                kv.Value = value.Clone();
                found = true;
            }
        }

        if (!found)
        {
            attributes.Add(new KeyValue { Key = key, Value = value.Clone() });
        }
    }

    /// <summary>Removes every entry whose key is <paramref name="key"/> or matches <paramref name="pattern"/>; true when any was.</summary>
    public static bool RemoveWhere(RepeatedField<KeyValue> attributes, string? key, System.Text.RegularExpressions.Regex? pattern)
    {
        bool removed = false;
        for (int i = attributes.Count - 1; i >= 0; i--)
        {
            if (KeyMatches(attributes[i].Key, key, pattern))
            {
                attributes.RemoveAt(i);
                removed = true;
            }
        }

        return removed;
    }

    /// <summary>The key is <paramref name="key"/> or matches <paramref name="pattern"/> (unanchored, as Go's MatchString); a pattern timeout counts as a match (fail closed).</summary>
    public static bool KeyMatches(string candidate, string? key, System.Text.RegularExpressions.Regex? pattern) =>
        (key is not null && string.Equals(candidate, key, StringComparison.Ordinal))
        || (pattern is not null && SafeRegex.IsMatch(pattern, candidate, onTimeout: true));

    public static AnyValue String(string value) => new() { StringValue = value };

    /// <summary>Upstream's Value.AsString for scalars (string as is, bool true/false, int decimal, double shortest round-trip, bytes base64); null for arrays and maps.</summary>
    public static string? ScalarString(AnyValue? value) => (value?.ValueCase ?? AnyValue.ValueOneofCase.None) switch
    {
        AnyValue.ValueOneofCase.StringValue => value!.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value!.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => value!.IntValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => value!.DoubleValue.ToString("R", CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.BytesValue => Convert.ToBase64String(value!.BytesValue.Span),
        AnyValue.ValueOneofCase.None => "",
        _ => null,
    };
}
