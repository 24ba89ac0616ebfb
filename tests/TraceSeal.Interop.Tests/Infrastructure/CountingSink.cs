using TraceSeal.Collector.Pipeline;
using TraceSeal.Otlp;

namespace TraceSeal.Interop.Tests.Infrastructure;

/// <summary>One batch as the sink saw it; the payload is copied (the receiver reuses its buffer).</summary>
internal sealed record RecordedBatch(OtlpSignal Signal, int ItemCount, string Identity, string Tenant, byte[] Payload);

/// <summary>
/// Accepts everything and counts items per signal. Tests await a count with a bounded deadline instead of
/// sleeping, then assert the exact total.
/// </summary>
internal sealed class CountingSink : ITelemetrySink
{
    private readonly object _gate = new();
    private readonly long[] _counts = new long[3];
    private readonly List<RecordedBatch> _batches = [];
    private readonly List<(OtlpSignal Signal, long Target, TaskCompletionSource Reached)> _waiters = [];

    public ValueTask<SinkResult> AcceptAsync(ReceivedBatch batch, CancellationToken cancellationToken)
    {
        var recorded = new RecordedBatch(batch.Signal, batch.ItemCount, batch.Identity, batch.Tenant, batch.Payload.ToArray());
        lock (_gate)
        {
            _batches.Add(recorded);
            _counts[(int)batch.Signal] += batch.ItemCount;
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                var waiter = _waiters[i];
                if (waiter.Signal == batch.Signal && _counts[(int)waiter.Signal] >= waiter.Target)
                {
                    waiter.Reached.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }

        return ValueTask.FromResult(SinkResult.Ok);
    }

    public long Count(OtlpSignal signal)
    {
        lock (_gate)
        {
            return _counts[(int)signal];
        }
    }

    public IReadOnlyList<RecordedBatch> Batches
    {
        get
        {
            lock (_gate)
            {
                return [.. _batches];
            }
        }
    }

    /// <summary>Completes when at least <paramref name="target"/> items of the signal arrived; throws
    /// <see cref="TimeoutException"/> with the count so far when the deadline passes first.</summary>
    public async Task WaitForCountAsync(OtlpSignal signal, long target, TimeSpan timeout)
    {
        TaskCompletionSource reached;
        lock (_gate)
        {
            if (_counts[(int)signal] >= target)
            {
                return;
            }

            reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((signal, target, reached));
        }

        try
        {
            await reached.Task.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{signal}: {Count(signal)} of {target} items arrived within {timeout.TotalSeconds:0}s");
        }
    }
}
