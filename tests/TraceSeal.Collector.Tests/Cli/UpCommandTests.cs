using TraceSeal.Cli.Commands;
using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Tests.Cli;

public sealed class UpCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "traceseal-up-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Prepare_creates_a_mutual_tls_config_that_loads_and_keeps_it_on_the_second_run()
    {
        var configPath = UpCommand.Prepare(_dir, 14317, 14318);

        var config = CollectorConfigLoader.Load(configPath);
        var receiver = Assert.Single(config.Receivers);
        Assert.Equal("127.0.0.1:14317", receiver.Grpc!.Endpoint);
        Assert.Equal(Path.Combine(_dir, "certs", "ca.crt"), receiver.Http!.Tls!.ClientCaFile);
        Assert.False(receiver.Http.AllowPlaintext);
        Assert.Equal(3, config.Pipelines.Count);
        var store = Assert.IsType<SealedStoreExporterSettings>(Assert.Single(config.Exporters.Values));
        Assert.Equal(Path.Combine(_dir, "keys", "reader.recipient.pem"), Assert.Single(store.Recipients));
        Assert.Equal(SealedStoreDurability.Fsync, store.Durability);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_dir));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, "certs", "client.key")));

        // A second run keeps the user's edits and the existing PKI.
        File.AppendAllText(configPath, "# edited\n");
        var caBefore = File.ReadAllText(Path.Combine(_dir, "certs", "ca.crt"));
        UpCommand.Prepare(_dir, 4317, 4318);
        Assert.EndsWith("# edited\n", File.ReadAllText(configPath));
        Assert.Equal(caBefore, File.ReadAllText(Path.Combine(_dir, "certs", "ca.crt")));
    }
}
