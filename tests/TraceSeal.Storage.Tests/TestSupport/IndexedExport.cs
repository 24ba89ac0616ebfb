using Google.Protobuf;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage;
using TraceSeal.Collector.Storage.Index;
using TraceSeal.Otlp;

namespace TraceSeal.Storage.Tests.TestSupport;

/// <summary>
/// Calls the sealed store the way a receiver does (Receivers/ExportProcessor.cs): one validation pass fills a pooled
/// <see cref="RequestIndex"/>, the batch carries it, and it goes back to the pool once the exporter answered.
/// </summary>
internal static class IndexedExport
{
    public static ValueTask<SinkResult> ExportIndexedAsync(this SealedStoreExporter exporter, IMessage request, string tenant = "acme") =>
        exporter.ExportIndexedAsync(request.ToByteArray(), tenant);

    public static async ValueTask<SinkResult> ExportIndexedAsync(this SealedStoreExporter exporter, byte[] payload, string tenant = "acme")
    {
        var index = Validate(payload, out int items);
        try
        {
            return await exporter.ExportAsync(
                new ReceivedBatch
                {
                    Signal = OtlpSignal.Traces,
                    Payload = payload,
                    ItemCount = items,
                    Tenant = tenant,
                    Identity = "uri:spiffe://corp/ns/payments/sa/api",
                    Receiver = "otlp",
                    Index = index,
                },
                default);
        }
        finally
        {
            RequestIndex.Return(index);
        }
    }

    private static RequestIndex Validate(byte[] payload, out int items)
    {
        var index = RequestIndex.Rent();
        var visitor = index.CreateVisitor();
        if (!OtlpValidator.TryValidate(payload, OtlpSignal.Traces, ref visitor, out var summary, out var error))
        {
            RequestIndex.Return(index);
            throw new InvalidOperationException($"the test request is not valid OTLP: {error.Code}: {error.Message}");
        }

        items = summary.ItemCount;
        return index;
    }
}
