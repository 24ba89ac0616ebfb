using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage;
using TraceSeal.Otlp;
using TraceSeal.Query;
using TraceSeal.Sealing;

namespace TraceSeal.Serve.Tests.TestSupport;

/// <summary>A temp directory with a reader key pair made now (KeyFiles.Init) and a sealed store written through the collector's own exporter.</summary>
internal sealed class StoreBuilder : IDisposable
{
    public StoreBuilder()
    {
        Dir = Directory.CreateTempSubdirectory("traceseal-serve-").FullName;
        KeyFiles.Init(Path.Combine(Dir, "keys"), "reader");
    }

    public string Dir { get; }

    public string Store => Path.Combine(Dir, "data");

    public string Identity => Path.Combine(Dir, "keys", "reader.identity.pem");

    public StoreReader Reader() => new(Store, [KeyFiles.LoadIdentity(Identity)]);

    /// <summary>Writes each payload as one acknowledged request; <paramref name="cut"/> cuts blocks afterwards (else they stay in the live WAL).</summary>
    public async Task WriteAsync(bool cut, params (IMessage Request, OtlpSignal Signal)[] requests)
    {
        await WriteRawAsync(cut, requests.Select(r => (r.Request.ToByteArray(), r.Signal)).ToArray());
    }

    public async Task WriteRawAsync(bool cut, params (byte[] Payload, OtlpSignal Signal)[] requests)
    {
        var settings = new SealedStoreExporterSettings
        {
            Name = "sealed_store",
            Directory = Store,
            Recipients = [Path.Combine(Dir, "keys", "reader.recipient.pem")],
            Wal = new StoreWalSettings { SegmentBytes = 16 << 20, MaxBacklogBytes = 1L << 30 },
            Block = new StoreBlockSettings { MaxBytes = 64 << 20, MaxAge = TimeSpan.FromHours(1) },
        };
        await using var exporter = SealedStoreExporter.Create("sealed_store", settings, Path.Combine(Dir, "collector.yaml"), NullLogger.Instance);
        await exporter.StartAsync(CancellationToken.None);
        foreach (var (payload, signal) in requests)
        {
            var result = await exporter.ExportAsync(new ReceivedBatch
            {
                Signal = signal,
                Payload = payload,
                ItemCount = 1,
                Tenant = "acme",
                Identity = "uri:spiffe://corp/ns/shop/sa/web",
                Receiver = "otlp",
            }, default);
            Assert.Equal(SinkResult.Ok, result);
        }

        if (cut)
        {
            await exporter.CutBlocksAsync();
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
