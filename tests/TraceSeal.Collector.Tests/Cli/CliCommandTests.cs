using TraceSeal.Cli;

namespace TraceSeal.Collector.Tests.Cli;

/// <summary>The `traceseal` entry point: exit codes (0 ok, 1 failure, 2 usage) and what commands write.</summary>
public sealed class CliCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "traceseal-cli-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task Certs_init_writes_the_seed_file_names_and_refuses_to_overwrite()
    {
        Assert.Equal(0, await Program.Main(["certs", "init", "--out", _dir, "--hosts", "otel-collector.observability.svc,localhost"]));
        foreach (var name in new[] { "ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key" })
        {
            Assert.True(File.Exists(Path.Combine(_dir, name)), name);
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, "server.key")));
        Assert.Equal(1, await Program.Main(["certs", "init", "--out", _dir]));
        Assert.Equal(0, await Program.Main(["certs", "inspect", Path.Combine(_dir, "server.crt"), "--ca", Path.Combine(_dir, "ca.crt")]));
    }

    [Fact]
    public async Task Certs_client_issues_a_spiffe_client_certificate_from_the_ca_directory()
    {
        Assert.Equal(0, await Program.Main(["certs", "init", "--out", _dir]));

        Assert.Equal(0, await Program.Main(["certs", "client", "payments-api", "--ca-dir", _dir, "--uri", "spiffe://corp/ns/payments/sa/api"]));

        using var issued = TraceSeal.Pki.DevPki.Load(Path.Combine(_dir, "payments-api.crt"), Path.Combine(_dir, "payments-api.key"));
        Assert.Contains("uri:spiffe://corp/ns/payments/sa/api", TraceSeal.Pki.CertificateIdentity.From(issued.Certificate));
    }

    [Fact]
    public async Task Keys_init_writes_a_recipient_and_a_private_identity()
    {
        Assert.Equal(0, await Program.Main(["keys", "init", "--name", "ops", "--out", _dir]));

        Assert.True(File.Exists(Path.Combine(_dir, "ops.recipient.pem")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, "ops.identity.pem")));
    }

    [Theory]
    [InlineData("certs", "init")]                       // --out is required
    [InlineData("certs", "frobnicate")]                  // no such command
    [InlineData("collector")]                            // --config is required
    public async Task Usage_errors_exit_2(params string[] args) => Assert.Equal(2, await Program.Main(args));

    [Fact]
    public async Task A_missing_config_file_is_a_failure_not_a_crash()
    {
        Assert.Equal(1, await Program.Main(["collector", "--config", Path.Combine(_dir, "nope.yaml")]));
    }

    [Fact]
    public async Task A_config_without_tls_refuses_to_start()
    {
        Directory.CreateDirectory(_dir);
        var config = Path.Combine(_dir, "plain.yaml");
        await File.WriteAllTextAsync(config, """
            receivers:
              otlp:
                protocols:
                  http:
                    endpoint: 127.0.0.1:0
            exporters:
              discard: {}
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [discard]
            """);

        Assert.Equal(1, await Program.Main(["collector", "--config", config]));
    }
}
