using TraceSeal.Collector.Pipeline;

namespace TraceSeal.Collector.Processors;

/// <summary>
/// `batch`: accepted so that upstream configs load unchanged. SDKs already batch, and (from the sealed-store
/// issue on) blocks are cut from the WAL by size and age, so admission is a pass-through. It never refuses:
/// an oversized request is not made valid by retrying it, and size limits belong to the receiver.
/// </summary>
internal sealed class BatchProcessor(string id) : IProcessor
{
    public string Id { get; } = id;

    public SinkResult Admit(in ReceivedBatch batch) => SinkResult.Ok;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
