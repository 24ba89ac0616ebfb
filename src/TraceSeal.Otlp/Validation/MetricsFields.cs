namespace TraceSeal.Otlp.Validation;

/// <summary>Field numbers of opentelemetry/proto/{metrics,collector/metrics}/v1, named after the proto path.</summary>
internal static class MetricsFields
{
    public const int ExportMetricsServiceRequest_ResourceMetrics = 1;

    public const int ResourceMetrics_Resource = 1;
    public const int ResourceMetrics_ScopeMetrics = 2;
    public const int ResourceMetrics_SchemaUrl = 3;

    public const int ScopeMetrics_Scope = 1;
    public const int ScopeMetrics_Metrics = 2;
    public const int ScopeMetrics_SchemaUrl = 3;

    public const int Metric_Name = 1;
    public const int Metric_Description = 2;
    public const int Metric_Unit = 3;
    public const int Metric_Gauge = 5;
    public const int Metric_Sum = 7;
    public const int Metric_Histogram = 9;
    public const int Metric_ExponentialHistogram = 10;
    public const int Metric_Summary = 11;
    public const int Metric_Metadata = 12;

    // Gauge, Sum, Histogram, ExponentialHistogram and Summary all keep data_points at 1.
    public const int Aggregation_DataPoints = 1;
    public const int Aggregation_AggregationTemporality = 2; // Sum, Histogram, ExponentialHistogram
    public const int Sum_IsMonotonic = 3;

    public const int NumberDataPoint_StartTimeUnixNano = 2;
    public const int NumberDataPoint_TimeUnixNano = 3;
    public const int NumberDataPoint_AsDouble = 4;
    public const int NumberDataPoint_Exemplars = 5;
    public const int NumberDataPoint_AsInt = 6;
    public const int NumberDataPoint_Attributes = 7;
    public const int NumberDataPoint_Flags = 8;

    public const int HistogramDataPoint_StartTimeUnixNano = 2;
    public const int HistogramDataPoint_TimeUnixNano = 3;
    public const int HistogramDataPoint_Count = 4;
    public const int HistogramDataPoint_Sum = 5;
    public const int HistogramDataPoint_BucketCounts = 6;
    public const int HistogramDataPoint_ExplicitBounds = 7;
    public const int HistogramDataPoint_Exemplars = 8;
    public const int HistogramDataPoint_Attributes = 9;
    public const int HistogramDataPoint_Flags = 10;
    public const int HistogramDataPoint_Min = 11;
    public const int HistogramDataPoint_Max = 12;

    public const int ExponentialHistogramDataPoint_Attributes = 1;
    public const int ExponentialHistogramDataPoint_StartTimeUnixNano = 2;
    public const int ExponentialHistogramDataPoint_TimeUnixNano = 3;
    public const int ExponentialHistogramDataPoint_Count = 4;
    public const int ExponentialHistogramDataPoint_Sum = 5;
    public const int ExponentialHistogramDataPoint_Scale = 6;
    public const int ExponentialHistogramDataPoint_ZeroCount = 7;
    public const int ExponentialHistogramDataPoint_Positive = 8;
    public const int ExponentialHistogramDataPoint_Negative = 9;
    public const int ExponentialHistogramDataPoint_Flags = 10;
    public const int ExponentialHistogramDataPoint_Exemplars = 11;
    public const int ExponentialHistogramDataPoint_Min = 12;
    public const int ExponentialHistogramDataPoint_Max = 13;
    public const int ExponentialHistogramDataPoint_ZeroThreshold = 14;

    public const int ExponentialHistogramDataPoint_Buckets_Offset = 1;
    public const int ExponentialHistogramDataPoint_Buckets_BucketCounts = 2;

    public const int SummaryDataPoint_StartTimeUnixNano = 2;
    public const int SummaryDataPoint_TimeUnixNano = 3;
    public const int SummaryDataPoint_Count = 4;
    public const int SummaryDataPoint_Sum = 5;
    public const int SummaryDataPoint_QuantileValues = 6;
    public const int SummaryDataPoint_Attributes = 7;
    public const int SummaryDataPoint_Flags = 8;

    public const int SummaryDataPoint_ValueAtQuantile_Quantile = 1;
    public const int SummaryDataPoint_ValueAtQuantile_Value = 2;

    public const int Exemplar_TimeUnixNano = 2;
    public const int Exemplar_AsDouble = 3;
    public const int Exemplar_SpanId = 4;
    public const int Exemplar_TraceId = 5;
    public const int Exemplar_AsInt = 6;
    public const int Exemplar_FilteredAttributes = 7;
}
