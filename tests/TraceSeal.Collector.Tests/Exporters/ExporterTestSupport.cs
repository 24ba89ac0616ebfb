using Microsoft.Extensions.Logging;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Processors.Batch;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Tests.Exporters;

/// <summary>Settings and batches for exporter tests: tiny retry intervals so every retry path runs in milliseconds.</summary>
internal static class ExporterTestSupport
{
    public static RetrySettings FastRetry(TimeSpan? maxElapsed = null) => new()
    {
        InitialInterval = TimeSpan.FromMilliseconds(5),
        MaxInterval = TimeSpan.FromMilliseconds(20),
        MaxElapsedTime = maxElapsed ?? TimeSpan.FromSeconds(5),
        Multiplier = 1.5,
        RandomizationFactor = 0.5,
    };

    /// <summary>Writes the test client certificate next to the PKI and returns the exporter's tls block (mTLS, CA pinned).</summary>
    public static TlsClientSettings MutualTls(ReceiverTestPki pki, string? caFile = null, string? serverNameOverride = null)
    {
        string cert = Path.Combine(pki.Dir, "client.crt");
        string key = Path.Combine(pki.Dir, "client.key");
        if (!File.Exists(cert))
        {
            pki.Client.WriteFiles(cert, key);
        }

        return new TlsClientSettings { CaFile = caFile ?? pki.CaPath, CertFile = cert, KeyFile = key, ServerNameOverride = serverNameOverride };
    }

    /// <param name="numConsumers">sending_queue::num_consumers (upstream's default 10): 1 where a test scripts upstream's answers in request order.</param>
    public static OtlpExporterSettings Settings(OtlpExporterProtocol protocol, string endpoint, TlsClientSettings tls, string compression = "gzip", RetrySettings? retry = null, int numConsumers = 10) => new()
    {
        Name = protocol == OtlpExporterProtocol.Grpc ? "otlp" : "otlphttp",
        Protocol = protocol,
        Endpoint = endpoint,
        Tls = tls,
        Compression = compression,
        Timeout = TimeSpan.FromSeconds(5),
        Retry = retry ?? FastRetry(),
        Queue = new SendingQueueSettings { NumConsumers = numConsumers },
    };

    public static OtlpForwardingExporter Create(OtlpExporterSettings settings, ILoggerFactory? loggers = null, BatchSettings? batch = null) =>
        new(settings.Name, settings, (loggers ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance).CreateLogger("test"), random: () => 0.5, batch: batch);

    public static ReceivedBatch Batch(OtlpSignal signal, int items)
    {
        byte[] payload = signal switch
        {
            OtlpSignal.Traces => OtlpTestData.Traces(items),
            OtlpSignal.Metrics => OtlpTestData.Metrics(items),
            _ => OtlpTestData.Logs(items),
        };
        return new ReceivedBatch { Signal = signal, Payload = payload, ItemCount = items, Tenant = "default", Identity = "test", Receiver = "otlp" };
    }

    /// <summary>Exports a batch whose buffer is overwritten as soon as ExportAsync returns its (pending) task, as the receiver's pool would.</summary>
    public static async Task<SinkResult> ExportAsync(OtlpForwardingExporter exporter, OtlpSignal signal, int items)
    {
        ReceivedBatch batch = Batch(signal, items);
        ValueTask<SinkResult> pending = exporter.ExportAsync(batch, CancellationToken.None);
        System.Runtime.InteropServices.MemoryMarshal.AsMemory(batch.Payload).Span.Fill(0xFF);
        return await pending;
    }
}
