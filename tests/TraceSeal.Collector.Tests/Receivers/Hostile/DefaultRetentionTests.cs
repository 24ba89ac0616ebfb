using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Storage;
using TraceSeal.Collector.Storage.Blocks;
using TraceSeal.Collector.Tests.TestSupport;
using TraceSeal.Storage.Format;

namespace TraceSeal.Collector.Tests.Receivers.Hostile;

/// <summary>
/// Issue 14: retention was infinite by default, so a flooding tenant (or a store nobody prunes) filled the disk.
/// Without `retention::max_age` a sealed store keeps 30 days; a longer horizon is an explicit, larger value.
/// </summary>
public sealed class DefaultRetentionTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("traceseal-retention-").FullName;
    private readonly ManualTimeProvider _time = new();

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void without_max_age_blocks_older_than_30_days_are_deleted_and_newer_ones_kept()
    {
        string old = Block(TimeSpan.FromDays(31));
        string recent = Block(TimeSpan.FromDays(29));

        Retention.Sweep(Context(new StoreRetentionSettings()), "acme");

        Assert.False(File.Exists(old + StoreFormat.BlockExtension));
        Assert.False(File.Exists(old + StoreFormat.IndexExtension));
        Assert.True(File.Exists(recent + StoreFormat.BlockExtension));
        Assert.Equal(TimeSpan.FromDays(30), Retention.EffectiveMaxAge(new StoreRetentionSettings()));
    }

    [Fact]
    public void an_explicit_longer_max_age_keeps_older_data()
    {
        string old = Block(TimeSpan.FromDays(31));

        Retention.Sweep(Context(new StoreRetentionSettings { MaxAge = TimeSpan.FromDays(3650) }), "acme");

        Assert.True(File.Exists(old + StoreFormat.BlockExtension));
    }

    private string Block(TimeSpan age)
    {
        DateTimeOffset at = _time.GetUtcNow() - age;
        string dir = Path.Combine(_root, StoreFormat.BlocksDir, "acme", at.ToString("yyyy/MM/dd/HH", System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        string stem = Path.Combine(dir, "b" + Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(stem + StoreFormat.BlockExtension, new byte[100]);
        File.WriteAllBytes(stem + StoreFormat.IndexExtension, new byte[10]);
        return stem;
    }

    private StoreContext Context(StoreRetentionSettings retention) => new()
    {
        Root = _root,
        Settings = new SealedStoreExporterSettings { Name = "sealed_store", Directory = _root, Recipients = [], Retention = retention },
        Recipients = [],
        Time = _time,
        Logger = NullLogger.Instance,
    };
}
