using TraceSeal.Collector.Pipeline;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.TestSupport;

/// <summary>
/// An <see cref="ITelemetrySink"/> that counts what it accepted (per signal) and remembers the last
/// tenant/identity. <see cref="Behavior"/> can refuse or block instead, for admission and deadline tests.
/// </summary>
internal sealed class CountingSink : ITelemetrySink
{
    private readonly long[] _requests = new long[3];
    private readonly long[] _items = new long[3];

    /// <summary>Null = accept everything.</summary>
    public Func<ReceivedBatch, CancellationToken, ValueTask<SinkResult>>? Behavior { get; set; }

    public string? LastTenant { get; private set; }

    public string? LastIdentity { get; private set; }

    public long Requests(OtlpSignal signal) => Interlocked.Read(ref _requests[(int)signal]);

    public long Items(OtlpSignal signal) => Interlocked.Read(ref _items[(int)signal]);

    public async ValueTask<SinkResult> AcceptAsync(ReceivedBatch batch, CancellationToken cancellationToken)
    {
        if (Behavior is { } behavior)
        {
            SinkResult result = await behavior(batch, cancellationToken);
            if (!result.Accepted)
            {
                return result;
            }
        }

        LastTenant = batch.Tenant;
        LastIdentity = batch.Identity;
        Interlocked.Increment(ref _requests[(int)batch.Signal]);
        Interlocked.Add(ref _items[(int)batch.Signal], batch.ItemCount);
        return SinkResult.Ok;
    }
}
