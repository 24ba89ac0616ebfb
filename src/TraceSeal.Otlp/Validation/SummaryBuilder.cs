namespace TraceSeal.Otlp.Validation;

/// <summary>Accumulates <see cref="OtlpSummary"/> while reading; time range stays 0/0 when no item carried a time.</summary>
internal struct SummaryBuilder
{
    private int _count;
    private ulong _min;
    private ulong _max;
    private bool _hasTime;

    public void Add(ulong start, ulong end)
    {
        _count++;
        if (start == 0 && end == 0)
        {
            return;
        }

        // An item with only one of the two times set still bounds the range on both sides.
        if (start == 0)
        {
            start = end;
        }

        if (end == 0)
        {
            end = start;
        }

        if (!_hasTime || start < _min)
        {
            _min = start;
        }

        if (!_hasTime || end > _max)
        {
            _max = end;
        }

        _hasTime = true;
    }

    public readonly OtlpSummary ToSummary() => new() { ItemCount = _count, MinStartTimeUnixNano = _min, MaxEndTimeUnixNano = _max };
}
