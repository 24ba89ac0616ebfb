using TraceSeal.Collector.Pipeline;

namespace TraceSeal.Collector.Processors.Batch;

/// <summary>
/// `batch`: a pass-through at admission, on purpose. A client is acknowledged once its request is durable (sealed
/// WAL / sealed sending queue); a batch held in memory before that point would either delay every acknowledgement
/// by `timeout` or acknowledge data that is not yet durable. So batching happens where data leaves: the settings of
/// this processor are handed (ComponentFactory.BatchFor) to the forwarding exporters of its pipeline, whose sealed
/// queue sender merges consecutive queued records of one signal into requests of up to send_batch_size items
/// (Exporters/Otlp/Queue/QueueSender.cs). The sealed store cuts blocks by size and age and does not use it.
/// It never refuses: an oversized request is not made valid by retrying it, and size limits belong to the receiver.
/// </summary>
internal sealed class BatchProcessor(string id) : IProcessor
{
    public string Id { get; } = id;

    public SinkResult Admit(in ReceivedBatch batch) => SinkResult.Ok;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
