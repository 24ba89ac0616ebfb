namespace TraceSeal.LoadGen;

/// <summary>Run-wide totals for the once-a-second progress line; the final figures come from the workers.</summary>
internal sealed class ProgressCounters
{
    private long _requests;
    private long _spans;
    private long _errors;

    public long Requests => Interlocked.Read(ref _requests);

    public long Spans => Interlocked.Read(ref _spans);

    public long Errors => Interlocked.Read(ref _errors);

    public void OnAcknowledged(int spans)
    {
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _spans, spans);
    }

    public void OnError() => Interlocked.Increment(ref _errors);
}
