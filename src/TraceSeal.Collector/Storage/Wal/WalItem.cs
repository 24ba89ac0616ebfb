using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage.Index;
using TraceSeal.Storage.Log;

namespace TraceSeal.Collector.Storage.Wal;

internal enum WalItemKind
{
    /// <summary>Timer tick: retire the segment if it is older than `block::max_age`; retry pending cuts; run retention.</summary>
    Tick,

    /// <summary>Cut the block now (tests, and the path graceful stop takes).</summary>
    Cut,
}

/// <summary>
/// One request on its way into a WAL group commit (<see cref="GroupCommitLog{TAppend}"/>): no copy of the payload (the
/// receiver's buffer stays valid until the completion, the receiver awaits it), plus the index entries it gathered.
/// </summary>
internal sealed class WalAppend(byte signal, ReadOnlyMemory<byte> payload, byte[]? consumers, long reserved, RequestIndex? index)
    : LogAppend(signal, payload, consumers, reserved)
{
    /// <summary>Index entries the receiver gathered while validating (traces), same lifetime as the payload.</summary>
    public RequestIndex? Index => index;
}

/// <summary>A control item of a tenant's writer loop (<see cref="WalItemKind"/>), completed once the loop handled it.</summary>
internal sealed class WalControl(WalItemKind kind) : LogItem
{
    public WalItemKind Kind => kind;

    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected internal override void Abandon() => Done.TrySetResult();
}
