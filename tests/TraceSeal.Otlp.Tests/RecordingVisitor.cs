namespace TraceSeal.Otlp.Tests;

/// <summary>Collects what the validator reports (allocates; not for the allocation test).</summary>
internal struct RecordingVisitor : IOtlpSpanVisitor
{
    public List<string> Events;

    public RecordingVisitor() => Events = [];

    public readonly void OnResource(ReadOnlySpan<byte> serviceNameUtf8)
        => Events.Add("resource:" + System.Text.Encoding.UTF8.GetString(serviceNameUtf8));

    public readonly void OnSpan(ReadOnlySpan<byte> traceId, ReadOnlySpan<byte> spanId, ulong startTimeUnixNano, ulong endTimeUnixNano, ReadOnlySpan<byte> nameUtf8)
        => Events.Add($"span:{Convert.ToHexString(traceId)}:{Convert.ToHexString(spanId)}:{startTimeUnixNano}:{endTimeUnixNano}:{System.Text.Encoding.UTF8.GetString(nameUtf8)}");
}

/// <summary>Touches every argument without allocating.</summary>
internal struct CountingVisitor : IOtlpSpanVisitor
{
    public int Resources;
    public int Spans;
    public long Bytes;

    public void OnResource(ReadOnlySpan<byte> serviceNameUtf8)
    {
        Resources++;
        Bytes += serviceNameUtf8.Length;
    }

    public void OnSpan(ReadOnlySpan<byte> traceId, ReadOnlySpan<byte> spanId, ulong startTimeUnixNano, ulong endTimeUnixNano, ReadOnlySpan<byte> nameUtf8)
    {
        Spans++;
        Bytes += traceId.Length + spanId.Length + nameUtf8.Length;
    }
}
