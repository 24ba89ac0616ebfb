using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.SealedStore;
using TraceSeal.Collector.Hosting;
using TraceSeal.Collector.Storage;
using TraceSeal.Query;
using TraceSeal.Sealing;
using TraceSeal.Storage.Tests.TestSupport;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;

namespace TraceSeal.Storage.Tests;

/// <summary>The collector holds recipient keys only; readers need an identity the objects are sealed to.</summary>
public sealed class KeyTests : IDisposable
{
    private readonly StoreFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task A_reader_with_another_identity_is_told_which_recipients_the_object_wants()
    {
        await using (var exporter = await _f.StartAsync())
        {
            await exporter.ExportAsync(Batch(Request("checkout", [1])), default);
        }

        var e = Assert.Throws<StoreAccessException>(() => _f.Reader(_f.OtherIdentity).Query(new TraceQuery()));
        var ops = KeyFiles.LoadRecipient(_f.Recipient).KeyId;
        var other = KeyFiles.LoadIdentity(_f.OtherIdentity).KeyId;
        Assert.EndsWith($" wants recipients {ops}; you offered {other}", e.Message);
        Assert.StartsWith(Path.Combine(_f.Store, "blocks", "acme"), e.Message);
    }

    [Fact]
    public async Task The_query_command_exits_1_with_the_wanted_recipients_and_0_with_the_right_identity()
    {
        await using (var exporter = await _f.StartAsync())
        {
            await exporter.ExportAsync(Batch(Request("checkout", [1], children: true)), default);
        }

        var output = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(1, Cli.Commands.QueryCommand.Run(_f.Reader(_f.OtherIdentity), new TraceQuery(), "tree", output, error));
        Assert.Contains("wants recipients", error.ToString());

        Assert.Equal(0, Cli.Commands.QueryCommand.Run(_f.Reader(), new TraceQuery { TraceId = TraceId(1) }, "tree", output, error));
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith($"trace {Convert.ToHexStringLower(TraceId(1))}  2 span(s)  ", lines[0]);
        Assert.Equal("  10ms  checkout  GET /cart  [server]", lines[1]);
        Assert.Equal("    1ms  checkout  db.query  [server]", lines[2]);

        var json = new StringWriter();
        Assert.Equal(0, Cli.Commands.QueryCommand.Run(_f.Reader(), new TraceQuery { TraceId = TraceId(1) }, "json", json, error));
        Assert.Contains($"\"traceId\":\"{Convert.ToHexStringLower(TraceId(1))}\"", json.ToString().Replace(" ", "", StringComparison.Ordinal));
    }

    [Fact]
    public void An_identity_file_listed_as_a_recipient_is_refused_before_anything_starts()
    {
        var settings = new SealedStoreExporterSettings { Name = "sealed_store", Directory = _f.Store, Recipients = [_f.Recipient, _f.Identity] };
        var e = Assert.Throws<InvalidOperationException>(() => ComponentFactory.CreateExporter("sealed_store", settings, "/etc/collector.yaml"));
        Assert.Equal(
            $"/etc/collector.yaml: exporters::sealed_store::recipients[1]: {_f.Identity} holds a private identity key; a collector must only hold " +
            "recipient (public) keys — list NAME.recipient.pem and keep NAME.identity.pem on the reader's host",
            e.Message);
        Assert.False(Directory.Exists(_f.Store));
    }

    [Fact]
    public void The_component_factory_builds_the_sealed_store_from_its_settings()
    {
        var settings = new SealedStoreExporterSettings { Name = "sealed_store", Directory = _f.Store, Recipients = [_f.Recipient] };
        var exporter = ComponentFactory.CreateExporter("sealed_store", settings, "/etc/collector.yaml");
        Assert.IsType<SealedStoreExporter>(exporter);
        Assert.Equal("sealed_store", exporter.Id);
    }
}
