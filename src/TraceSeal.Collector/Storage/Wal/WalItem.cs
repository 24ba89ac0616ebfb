using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage.Index;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Storage.Wal;

internal enum WalItemKind
{
    /// <summary>A request to seal into the next frame.</summary>
    Append,

    /// <summary>Timer tick: retire the segment if it is older than `block::max_age`; retry pending cuts; run retention.</summary>
    Tick,

    /// <summary>Cut the block now (tests, and the path graceful stop takes).</summary>
    Cut,
}

/// <summary>One request on its way into a group commit: one small allocation per request, never per span, no copy of the payload.</summary>
internal sealed class WalItem
{
    public WalItem(WalItemKind kind) => Kind = kind;

    public WalItemKind Kind { get; }

    public OtlpSignal Signal { get; init; }

    /// <summary>The receiver's buffer: valid until <see cref="Done"/> completes (the receiver awaits it).</summary>
    public ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>Index entries the receiver gathered while validating (traces), same lifetime as <see cref="Payload"/>.</summary>
    public RequestIndex? Index { get; init; }

    /// <summary>The record's consumer list (version 2 record, docs/format.md §14.12), or null for a version 1 record.</summary>
    public byte[]? Consumers { get; init; }

    /// <summary>Backlog bytes reserved for this request; released when its block is written.</summary>
    public long Reserved { get; init; }

    public TaskCompletionSource<SinkResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
