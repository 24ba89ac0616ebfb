using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Storage;
using TraceSeal.Collector.Storage.Index;
using TraceSeal.Otlp;
using TraceSeal.Query;
using TraceSeal.Sealing;
using static TraceSeal.Collector.Tests.Processors.TransformHarness;

namespace TraceSeal.Collector.Tests.Processors;

/// <summary>
/// Through the sealed store: what a reader gets back is the rewritten request, and the block's index is built from
/// it, not from the receiver's index of the received bytes (a hashed service.name is found by its hash only).
/// </summary>
public sealed class SealedStoreRewriteTests : IDisposable
{
    private readonly TransformHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task the_store_holds_and_indexes_the_rewritten_request()
    {
        byte[] key = _h.WriteKey();
        var keys = _h.Fixture.Path("store-keys");
        KeyFiles.Init(keys, "ops");
        var processors = _h.Processors("""
              resource:
                hash_key_file: hash.key
                attributes:
                  - {key: service.name, action: hash}
              redaction:
                allowed_keys: [service.name, http.method]
            """, "resource", "redaction");
        var settings = new SealedStoreExporterSettings
        {
            Name = "sealed_store",
            Directory = _h.Fixture.Path("data"),
            Recipients = [Path.Combine(keys, "ops.recipient.pem")],
            Wal = new StoreWalSettings(),
            Block = new StoreBlockSettings { MaxAge = TimeSpan.FromHours(1) },
        };
        await using var store = SealedStoreExporter.Create("sealed_store", settings, _h.Fixture.ConfigPath, NullLogger.Instance);
        await store.StartAsync(CancellationToken.None);
        var pipeline = new TelemetryPipeline("traces", OtlpSignal.Traces, processors, [store]);
        byte[] payload = Trace(Attr("http.method", "POST"), Attr("user.email", "alice@example.com")).ToByteArray();
        // The index a receiver gathers from the received bytes: service "checkout".
        var received = RequestIndex.Rent();
        var visitor = received.CreateVisitor();
        Assert.True(OtlpValidator.TryValidate(payload, OtlpSignal.Traces, ref visitor, out _, out _));

        try
        {
            Assert.True((await pipeline.ProcessAsync(Batch(payload, OtlpSignal.Traces, received), CancellationToken.None)).Accepted);
        }
        finally
        {
            RequestIndex.Return(received);
        }

        await store.CutBlocksAsync();
        var reader = new StoreReader(settings.Directory, [KeyFiles.LoadIdentity(Path.Combine(keys, "ops.identity.pem"))]);
        var byHash = reader.Query(new TraceQuery { Service = Hmac(key, "checkout") });
        var byName = reader.Query(new TraceQuery { Service = "checkout" });

        Assert.Equal(1, byHash.SpanCount);
        Assert.Equal(0, byName.SpanCount);
        Assert.Equal(["http.method=POST"], Show(OnlySpan(byHash.Request).Attributes));
        Assert.Empty(OnlySpan(byHash.Request).Events[0].Attributes);
        Assert.DoesNotContain("alice", byHash.Request.ToString(), StringComparison.Ordinal);
    }
}
