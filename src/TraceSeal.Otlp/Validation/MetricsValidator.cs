using static TraceSeal.Otlp.Validation.MetricsFields;

namespace TraceSeal.Otlp.Validation;

/// <summary>Validates ExportMetricsServiceRequest; counts data points of every metric kind.</summary>
internal static class MetricsValidator
{
    public static bool ReadRequest(ReadOnlySpan<byte> message, ref SummaryBuilder summary, scoped ref WireFailure failure)
    {
        var reader = new ProtoReader(message, 0);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("ExportMetricsServiceRequest", ref failure, out int field, out int wireType))
            {
                return false;
            }

            bool ok = field == ExportMetricsServiceRequest_ResourceMetrics
                ? reader.TryReadLength(wireType, "ExportMetricsServiceRequest.resource_metrics", ref failure, out ReadOnlySpan<byte> value, out int offset)
                    && ReadResourceMetrics(value, offset, ref summary, ref failure)
                : reader.TrySkip(wireType, "ExportMetricsServiceRequest", ref failure);
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool ReadResourceMetrics(ReadOnlySpan<byte> message, int baseOffset, ref SummaryBuilder summary, scoped ref WireFailure failure)
    {
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("ResourceMetrics", ref failure, out int field, out int wireType))
            {
                return false;
            }

            ReadOnlySpan<byte> value;
            int offset;
            bool ok = field switch
            {
                ResourceMetrics_Resource => reader.TryReadLength(wireType, "ResourceMetrics.resource", ref failure, out value, out offset)
                    && CommonValidator.ReadResource(value, offset, ref failure, out _),
                ResourceMetrics_ScopeMetrics => reader.TryReadLength(wireType, "ResourceMetrics.scope_metrics", ref failure, out value, out offset)
                    && ReadScopeMetrics(value, offset, ref summary, ref failure),
                ResourceMetrics_SchemaUrl => reader.TryReadString(wireType, "ResourceMetrics.schema_url", ref failure, out _),
                _ => reader.TrySkip(wireType, "ResourceMetrics", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool ReadScopeMetrics(ReadOnlySpan<byte> message, int baseOffset, ref SummaryBuilder summary, scoped ref WireFailure failure)
    {
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("ScopeMetrics", ref failure, out int field, out int wireType))
            {
                return false;
            }

            ReadOnlySpan<byte> value;
            int offset;
            bool ok = field switch
            {
                ScopeMetrics_Scope => reader.TryReadLength(wireType, "ScopeMetrics.scope", ref failure, out value, out offset)
                    && CommonValidator.ReadScope(value, offset, ref failure),
                ScopeMetrics_Metrics => reader.TryReadLength(wireType, "ScopeMetrics.metrics", ref failure, out value, out offset)
                    && ReadMetric(value, offset, ref summary, ref failure),
                ScopeMetrics_SchemaUrl => reader.TryReadString(wireType, "ScopeMetrics.schema_url", ref failure, out _),
                _ => reader.TrySkip(wireType, "ScopeMetrics", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool ReadMetric(ReadOnlySpan<byte> message, int baseOffset, ref SummaryBuilder summary, scoped ref WireFailure failure)
    {
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("Metric", ref failure, out int field, out int wireType))
            {
                return false;
            }

            ReadOnlySpan<byte> value;
            int offset;
            bool ok = field switch
            {
                Metric_Name => reader.TryReadString(wireType, "Metric.name", ref failure, out _),
                Metric_Description => reader.TryReadString(wireType, "Metric.description", ref failure, out _),
                Metric_Unit => reader.TryReadString(wireType, "Metric.unit", ref failure, out _),
                Metric_Gauge => reader.TryReadLength(wireType, "Metric.gauge", ref failure, out value, out offset)
                    && ReadAggregation(value, offset, field, ref summary, ref failure),
                Metric_Sum => reader.TryReadLength(wireType, "Metric.sum", ref failure, out value, out offset)
                    && ReadAggregation(value, offset, field, ref summary, ref failure),
                Metric_Histogram => reader.TryReadLength(wireType, "Metric.histogram", ref failure, out value, out offset)
                    && ReadAggregation(value, offset, field, ref summary, ref failure),
                Metric_ExponentialHistogram => reader.TryReadLength(wireType, "Metric.exponential_histogram", ref failure, out value, out offset)
                    && ReadAggregation(value, offset, field, ref summary, ref failure),
                Metric_Summary => reader.TryReadLength(wireType, "Metric.summary", ref failure, out value, out offset)
                    && ReadAggregation(value, offset, field, ref summary, ref failure),
                Metric_Metadata => CommonValidator.ReadAttribute(ref reader, wireType, "Metric.metadata", ref failure),
                _ => reader.TrySkip(wireType, "Metric", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Gauge, Sum, Histogram, ExponentialHistogram or Summary, told apart by the Metric field that held it.</summary>
    private static bool ReadAggregation(ReadOnlySpan<byte> message, int baseOffset, int metricField, ref SummaryBuilder summary, scoped ref WireFailure failure)
    {
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("Metric.data", ref failure, out int field, out int wireType))
            {
                return false;
            }

            bool ok;
            if (field == Aggregation_DataPoints)
            {
                ok = reader.TryReadLength(wireType, "Metric.data.data_points", ref failure, out ReadOnlySpan<byte> value, out int offset)
                    && metricField switch
                    {
                        Metric_Gauge or Metric_Sum => ReadNumberDataPoint(value, offset, ref summary, ref failure),
                        Metric_Histogram => ReadHistogramDataPoint(value, offset, ref summary, ref failure),
                        Metric_ExponentialHistogram => ReadExponentialHistogramDataPoint(value, offset, ref summary, ref failure),
                        _ => ReadSummaryDataPoint(value, offset, ref summary, ref failure),
                    };
            }
            else if (field == Aggregation_AggregationTemporality && metricField != Metric_Gauge && metricField != Metric_Summary)
            {
                ok = reader.TryReadVarint(wireType, "Metric.data.aggregation_temporality", ref failure, out _);
            }
            else if (field == Sum_IsMonotonic && metricField == Metric_Sum)
            {
                ok = reader.TryReadVarint(wireType, "Sum.is_monotonic", ref failure, out _);
            }
            else
            {
                ok = reader.TrySkip(wireType, "Metric.data", ref failure);
            }

            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool ReadNumberDataPoint(ReadOnlySpan<byte> message, int baseOffset, ref SummaryBuilder summary, scoped ref WireFailure failure)
    {
        ulong start = 0, time = 0;
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("NumberDataPoint", ref failure, out int field, out int wireType))
            {
                return false;
            }

            bool ok = field switch
            {
                NumberDataPoint_Attributes => CommonValidator.ReadAttribute(ref reader, wireType, "NumberDataPoint.attributes", ref failure),
                NumberDataPoint_StartTimeUnixNano => reader.TryReadFixed64(wireType, "NumberDataPoint.start_time_unix_nano", ref failure, out start),
                NumberDataPoint_TimeUnixNano => reader.TryReadFixed64(wireType, "NumberDataPoint.time_unix_nano", ref failure, out time),
                NumberDataPoint_AsDouble => reader.TryReadFixed64(wireType, "NumberDataPoint.as_double", ref failure, out _),
                NumberDataPoint_AsInt => reader.TryReadFixed64(wireType, "NumberDataPoint.as_int", ref failure, out _),
                NumberDataPoint_Exemplars => ReadExemplar(ref reader, wireType, "NumberDataPoint.exemplars", ref failure),
                NumberDataPoint_Flags => reader.TryReadVarint(wireType, "NumberDataPoint.flags", ref failure, out _),
                _ => reader.TrySkip(wireType, "NumberDataPoint", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        summary.Add(start, time);
        return true;
    }

    private static bool ReadHistogramDataPoint(ReadOnlySpan<byte> message, int baseOffset, ref SummaryBuilder summary, scoped ref WireFailure failure)
    {
        ulong start = 0, time = 0;
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("HistogramDataPoint", ref failure, out int field, out int wireType))
            {
                return false;
            }

            bool ok = field switch
            {
                HistogramDataPoint_Attributes => CommonValidator.ReadAttribute(ref reader, wireType, "HistogramDataPoint.attributes", ref failure),
                HistogramDataPoint_StartTimeUnixNano => reader.TryReadFixed64(wireType, "HistogramDataPoint.start_time_unix_nano", ref failure, out start),
                HistogramDataPoint_TimeUnixNano => reader.TryReadFixed64(wireType, "HistogramDataPoint.time_unix_nano", ref failure, out time),
                HistogramDataPoint_Count => reader.TryReadFixed64(wireType, "HistogramDataPoint.count", ref failure, out _),
                HistogramDataPoint_Sum => reader.TryReadFixed64(wireType, "HistogramDataPoint.sum", ref failure, out _),
                HistogramDataPoint_BucketCounts => reader.TryReadRepeatedFixed64(wireType, "HistogramDataPoint.bucket_counts", ref failure),
                HistogramDataPoint_ExplicitBounds => reader.TryReadRepeatedFixed64(wireType, "HistogramDataPoint.explicit_bounds", ref failure),
                HistogramDataPoint_Exemplars => ReadExemplar(ref reader, wireType, "HistogramDataPoint.exemplars", ref failure),
                HistogramDataPoint_Flags => reader.TryReadVarint(wireType, "HistogramDataPoint.flags", ref failure, out _),
                HistogramDataPoint_Min => reader.TryReadFixed64(wireType, "HistogramDataPoint.min", ref failure, out _),
                HistogramDataPoint_Max => reader.TryReadFixed64(wireType, "HistogramDataPoint.max", ref failure, out _),
                _ => reader.TrySkip(wireType, "HistogramDataPoint", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        summary.Add(start, time);
        return true;
    }

    private static bool ReadExponentialHistogramDataPoint(ReadOnlySpan<byte> message, int baseOffset, ref SummaryBuilder summary, scoped ref WireFailure failure)
    {
        ulong start = 0, time = 0;
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("ExponentialHistogramDataPoint", ref failure, out int field, out int wireType))
            {
                return false;
            }

            ReadOnlySpan<byte> value;
            int offset;
            bool ok = field switch
            {
                ExponentialHistogramDataPoint_Attributes => CommonValidator.ReadAttribute(ref reader, wireType, "ExponentialHistogramDataPoint.attributes", ref failure),
                ExponentialHistogramDataPoint_StartTimeUnixNano => reader.TryReadFixed64(wireType, "ExponentialHistogramDataPoint.start_time_unix_nano", ref failure, out start),
                ExponentialHistogramDataPoint_TimeUnixNano => reader.TryReadFixed64(wireType, "ExponentialHistogramDataPoint.time_unix_nano", ref failure, out time),
                ExponentialHistogramDataPoint_Count => reader.TryReadFixed64(wireType, "ExponentialHistogramDataPoint.count", ref failure, out _),
                ExponentialHistogramDataPoint_Sum => reader.TryReadFixed64(wireType, "ExponentialHistogramDataPoint.sum", ref failure, out _),
                ExponentialHistogramDataPoint_Scale => reader.TryReadVarint(wireType, "ExponentialHistogramDataPoint.scale", ref failure, out _),
                ExponentialHistogramDataPoint_ZeroCount => reader.TryReadFixed64(wireType, "ExponentialHistogramDataPoint.zero_count", ref failure, out _),
                ExponentialHistogramDataPoint_Positive => reader.TryReadLength(wireType, "ExponentialHistogramDataPoint.positive", ref failure, out value, out offset)
                    && ReadBuckets(value, offset, ref failure),
                ExponentialHistogramDataPoint_Negative => reader.TryReadLength(wireType, "ExponentialHistogramDataPoint.negative", ref failure, out value, out offset)
                    && ReadBuckets(value, offset, ref failure),
                ExponentialHistogramDataPoint_Flags => reader.TryReadVarint(wireType, "ExponentialHistogramDataPoint.flags", ref failure, out _),
                ExponentialHistogramDataPoint_Exemplars => ReadExemplar(ref reader, wireType, "ExponentialHistogramDataPoint.exemplars", ref failure),
                ExponentialHistogramDataPoint_Min => reader.TryReadFixed64(wireType, "ExponentialHistogramDataPoint.min", ref failure, out _),
                ExponentialHistogramDataPoint_Max => reader.TryReadFixed64(wireType, "ExponentialHistogramDataPoint.max", ref failure, out _),
                ExponentialHistogramDataPoint_ZeroThreshold => reader.TryReadFixed64(wireType, "ExponentialHistogramDataPoint.zero_threshold", ref failure, out _),
                _ => reader.TrySkip(wireType, "ExponentialHistogramDataPoint", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        summary.Add(start, time);
        return true;
    }

    private static bool ReadBuckets(ReadOnlySpan<byte> message, int baseOffset, scoped ref WireFailure failure)
    {
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("ExponentialHistogramDataPoint.Buckets", ref failure, out int field, out int wireType))
            {
                return false;
            }

            bool ok = field switch
            {
                ExponentialHistogramDataPoint_Buckets_Offset => reader.TryReadVarint(wireType, "ExponentialHistogramDataPoint.Buckets.offset", ref failure, out _),
                ExponentialHistogramDataPoint_Buckets_BucketCounts => reader.TryReadRepeatedVarint(wireType, "ExponentialHistogramDataPoint.Buckets.bucket_counts", ref failure),
                _ => reader.TrySkip(wireType, "ExponentialHistogramDataPoint.Buckets", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool ReadSummaryDataPoint(ReadOnlySpan<byte> message, int baseOffset, ref SummaryBuilder summary, scoped ref WireFailure failure)
    {
        ulong start = 0, time = 0;
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("SummaryDataPoint", ref failure, out int field, out int wireType))
            {
                return false;
            }

            ReadOnlySpan<byte> value;
            int offset;
            bool ok = field switch
            {
                SummaryDataPoint_Attributes => CommonValidator.ReadAttribute(ref reader, wireType, "SummaryDataPoint.attributes", ref failure),
                SummaryDataPoint_StartTimeUnixNano => reader.TryReadFixed64(wireType, "SummaryDataPoint.start_time_unix_nano", ref failure, out start),
                SummaryDataPoint_TimeUnixNano => reader.TryReadFixed64(wireType, "SummaryDataPoint.time_unix_nano", ref failure, out time),
                SummaryDataPoint_Count => reader.TryReadFixed64(wireType, "SummaryDataPoint.count", ref failure, out _),
                SummaryDataPoint_Sum => reader.TryReadFixed64(wireType, "SummaryDataPoint.sum", ref failure, out _),
                SummaryDataPoint_QuantileValues => reader.TryReadLength(wireType, "SummaryDataPoint.quantile_values", ref failure, out value, out offset)
                    && ReadValueAtQuantile(value, offset, ref failure),
                SummaryDataPoint_Flags => reader.TryReadVarint(wireType, "SummaryDataPoint.flags", ref failure, out _),
                _ => reader.TrySkip(wireType, "SummaryDataPoint", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        summary.Add(start, time);
        return true;
    }

    private static bool ReadValueAtQuantile(ReadOnlySpan<byte> message, int baseOffset, scoped ref WireFailure failure)
    {
        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("SummaryDataPoint.ValueAtQuantile", ref failure, out int field, out int wireType))
            {
                return false;
            }

            bool ok = field switch
            {
                SummaryDataPoint_ValueAtQuantile_Quantile => reader.TryReadFixed64(wireType, "SummaryDataPoint.ValueAtQuantile.quantile", ref failure, out _),
                SummaryDataPoint_ValueAtQuantile_Value => reader.TryReadFixed64(wireType, "SummaryDataPoint.ValueAtQuantile.value", ref failure, out _),
                _ => reader.TrySkip(wireType, "SummaryDataPoint.ValueAtQuantile", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool ReadExemplar(ref ProtoReader outer, int outerWireType, string path, scoped ref WireFailure failure)
    {
        if (!outer.TryReadLength(outerWireType, path, ref failure, out ReadOnlySpan<byte> message, out int baseOffset))
        {
            return false;
        }

        var reader = new ProtoReader(message, baseOffset);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag("Exemplar", ref failure, out int field, out int wireType))
            {
                return false;
            }

            ReadOnlySpan<byte> id;
            int offset;
            bool ok = field switch
            {
                Exemplar_FilteredAttributes => CommonValidator.ReadAttribute(ref reader, wireType, "Exemplar.filtered_attributes", ref failure),
                Exemplar_TimeUnixNano => reader.TryReadFixed64(wireType, "Exemplar.time_unix_nano", ref failure, out _),
                Exemplar_AsDouble => reader.TryReadFixed64(wireType, "Exemplar.as_double", ref failure, out _),
                Exemplar_AsInt => reader.TryReadFixed64(wireType, "Exemplar.as_int", ref failure, out _),
                Exemplar_SpanId => reader.TryReadLength(wireType, "Exemplar.span_id", ref failure, out id, out offset)
                    && CommonValidator.CheckOptionalId(id, CommonValidator.SpanIdLength, "bad_span_id", "Exemplar.span_id", offset, ref failure),
                Exemplar_TraceId => reader.TryReadLength(wireType, "Exemplar.trace_id", ref failure, out id, out offset)
                    && CommonValidator.CheckOptionalId(id, CommonValidator.TraceIdLength, "bad_trace_id", "Exemplar.trace_id", offset, ref failure),
                _ => reader.TrySkip(wireType, "Exemplar", ref failure),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
