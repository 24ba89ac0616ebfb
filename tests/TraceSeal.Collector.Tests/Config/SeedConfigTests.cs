using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Discard;

namespace TraceSeal.Collector.Tests.Config;

/// <summary>DESIGN.md: the receiver blocks of both seed documents load as written; only file paths differ.</summary>
public sealed class SeedConfigTests : IDisposable
{
    // Appended to each seed's receivers so the file is a whole config.
    private const string Rest = """
        exporters:
          discard:
        service:
          pipelines:
            traces:
              receivers: [otlp]
              exporters: [discard]
        """;

    private readonly ConfigFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public void FirstSeed_ClientCaFileOnly_LoadsAsMutualTls()
    {
        // Seed 000, "Collector TLS Configuration", with /etc/otel/certs/ pointing at the fixture directory.
        var receivers = """
            # otel-collector-config.yaml
            # Configure OTLP receivers with TLS and optional mTLS
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: 0.0.0.0:4317
                    tls:
                      # Server certificate and key for TLS
                      cert_file: /etc/otel/certs/server.crt
                      key_file: /etc/otel/certs/server.key
                      # CA certificate to verify client certificates (enables mTLS)
                      client_ca_file: /etc/otel/certs/ca.crt
                  http:
                    endpoint: 0.0.0.0:4318
                    tls:
                      cert_file: /etc/otel/certs/server.crt
                      key_file: /etc/otel/certs/server.key
                      client_ca_file: /etc/otel/certs/ca.crt

            """.Replace("/etc/otel/certs/", _f.Dir + "/", StringComparison.Ordinal);
        File.WriteAllText(_f.ConfigPath, receivers + Rest);

        var config = CollectorConfigLoader.Load(_f.ConfigPath);

        var otlp = Assert.Single(config.Receivers);
        Assert.Equal("otlp", otlp.Name);
        foreach (var (protocol, endpoint) in new[] { (otlp.Grpc, "0.0.0.0:4317"), (otlp.Http, "0.0.0.0:4318") })
        {
            Assert.NotNull(protocol);
            Assert.Equal(endpoint, protocol.Endpoint);
            Assert.False(protocol.AllowPlaintext);
            var tls = Assert.IsType<TlsServerSettings>(protocol.Tls);
            Assert.Equal(_f.Path("server.crt"), tls.CertFile);
            Assert.Equal(_f.Path("server.key"), tls.KeyFile);
            Assert.Equal(_f.Path("ca.crt"), tls.ClientCaFile);
            Assert.Null(tls.CaFile);
            Assert.Equal("1.2", tls.MinVersion);
        }

        Assert.Equal(4L * 1024 * 1024, otlp.Grpc!.MaxRequestBytes);
        Assert.Equal(20L * 1024 * 1024, otlp.Http!.MaxRequestBytes);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void SecondSeed_CaFileAndClientCaFile_LoadsAsMutualTls()
    {
        // Seed 001, "Collector Receiver TLS Configuration", with relative paths (resolved against the config's directory).
        var receivers = """
            # otelcol-config.yaml
            receivers:
              otlp:
                protocols:
                  http:
                    endpoint: 0.0.0.0:4318
                    tls:
                      cert_file: /etc/otelcol/server.crt
                      key_file:  /etc/otelcol/server.key
                      ca_file:   /etc/otelcol/ca.crt
                      client_ca_file: /etc/otelcol/client-ca.crt  # mTLS: require client cert
                  grpc:
                    endpoint: 0.0.0.0:4317
                    tls:
                      cert_file: /etc/otelcol/server.crt
                      key_file:  /etc/otelcol/server.key
                      ca_file:   /etc/otelcol/ca.crt
                      client_ca_file: /etc/otelcol/client-ca.crt

            """.Replace("/etc/otelcol/", "", StringComparison.Ordinal);

        var config = _f.Parse(receivers + Rest);

        var otlp = Assert.Single(config.Receivers);
        foreach (var protocol in new[] { otlp.Grpc, otlp.Http })
        {
            var tls = Assert.IsType<TlsServerSettings>(protocol?.Tls);
            Assert.Equal(_f.Path("server.crt"), tls.CertFile);
            Assert.Equal(_f.Path("server.key"), tls.KeyFile);
            Assert.Equal(_f.Path("ca.crt"), tls.CaFile);
            Assert.Equal(_f.Path("client-ca.crt"), tls.ClientCaFile);
        }

        Assert.Empty(config.Warnings);
        var pipeline = Assert.Single(config.Pipelines);
        Assert.Equal(["otlp"], pipeline.Receivers);
        Assert.IsType<DiscardExporterSettings>(config.Exporters["discard"]);
    }
}
