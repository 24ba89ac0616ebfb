using System.Buffers;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Storage.Wal;

internal enum WalItemKind
{
    /// <summary>A copied request to seal into the next frame.</summary>
    Append,

    /// <summary>Timer tick: cut the block if it is older than `block::max_age`; run retention.</summary>
    Tick,

    /// <summary>Cut the block now (tests, and the path graceful stop takes).</summary>
    Cut,
}

/// <summary>One request on its way into a group commit: one allocation per request, never per span.</summary>
internal sealed class WalItem
{
    public WalItem(WalItemKind kind) => Kind = kind;

    public WalItemKind Kind { get; }

    public OtlpSignal Signal { get; init; }

    /// <summary>Rented from <see cref="ArrayPool{T}.Shared"/>; returned (cleared) by the writer loop.</summary>
    public byte[]? Buffer { get; init; }

    public int Length { get; init; }

    /// <summary>Backlog bytes reserved for this request; released when its block is written.</summary>
    public long Reserved { get; init; }

    public TaskCompletionSource<SinkResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReturnBuffer()
    {
        if (Buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(Buffer, clearArray: true);
        }
    }
}
