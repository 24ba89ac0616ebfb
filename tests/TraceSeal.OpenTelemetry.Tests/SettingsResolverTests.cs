using OpenTelemetry.Exporter;
using TraceSeal.OpenTelemetry.Configuration;
using TraceSeal.OpenTelemetry.Tests.Infrastructure;

namespace TraceSeal.OpenTelemetry.Tests;

/// <summary>Start-up checks: each bad setting gets its own message naming the variable and the file.</summary>
[Collection(SdkCollection.Name)]
public sealed class SettingsResolverTests(TestPki pki)
{
    private Dictionary<string, string?> Env(string endpoint = "https://collector.example:4318") => TestApp.MutualTls(pki, endpoint, "http/protobuf");

    private static ExporterSettings Resolve(Dictionary<string, string?> env, OtlpSignalKind signal = OtlpSignalKind.Traces, SecureOtlpOptions? options = null) =>
        SettingsResolver.Resolve(signal, options ?? new SecureOtlpOptions(), key => env.TryGetValue(key, out string? v) ? v : null);

    private static string Problem(Dictionary<string, string?> env) =>
        Assert.Single(Assert.Throws<SecureOtlpConfigurationException>(() => Resolve(env)).Problems);

    [Fact]
    public void Per_signal_variables_win_and_the_generic_endpoint_gets_the_signal_path()
    {
        var env = Env();
        ExporterSettings generic = Resolve(env);
        Assert.Equal("https://collector.example:4318/v1/traces", generic.Endpoint.AbsoluteUri);
        Assert.Equal("OTEL_EXPORTER_OTLP_ENDPOINT", generic.EndpointSource);

        env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "https://traces.example:443/custom/path";
        env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "grpc";
        env["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"] = "1500";
        env["OTEL_EXPORTER_OTLP_COMPRESSION"] = "gzip";
        ExporterSettings specific = Resolve(env);
        Assert.Equal("https://traces.example/custom/path", specific.Endpoint.AbsoluteUri);
        Assert.Equal(OtlpExportProtocol.Grpc, specific.Protocol);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), specific.Timeout);
        Assert.Equal(OtlpExportCompression.GZip, specific.Compression);

        // Metrics still use the generic endpoint, with their own path.
        Assert.Equal("https://collector.example:4318/v1/metrics", Resolve(env, OtlpSignalKind.Metrics).Endpoint.AbsoluteUri);
    }

    [Fact]
    public void Plaintext_needs_an_explicit_INSECURE_true()
    {
        var env = Env("http://collector.example:4318");
        Assert.StartsWith("OTEL_EXPORTER_OTLP_ENDPOINT=http://collector.example:4318: plaintext http:// endpoint", Problem(env), StringComparison.Ordinal);

        env["OTEL_EXPORTER_OTLP_INSECURE"] = "true";
        Assert.True(Resolve(env).Plaintext);
    }

    [Fact]
    public void No_endpoint_is_an_error_because_the_default_is_plaintext()
    {
        var env = Env();
        env.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        Assert.Contains("the default endpoint http://localhost:4318 is plaintext", Problem(env), StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_CA_file_is_named()
    {
        var env = Env();
        env["OTEL_EXPORTER_OTLP_CERTIFICATE"] = "/nonexistent/ca.crt";
        Assert.Equal("OTEL_EXPORTER_OTLP_CERTIFICATE=/nonexistent/ca.crt: file not found (the directory does not exist)", Problem(env));
    }

    [Fact]
    public void A_CA_file_without_certificates_is_refused()
    {
        string empty = Path.Combine(pki.NewDirectory(), "empty-ca.crt");
        File.WriteAllText(empty, "# nothing here\n");
        var env = Env();
        env["OTEL_EXPORTER_OTLP_CERTIFICATE"] = empty;
        Assert.StartsWith($"OTEL_EXPORTER_OTLP_CERTIFICATE={empty}: the file contains no certificates", Problem(env), StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_that_does_not_belong_to_the_certificate_is_refused()
    {
        var env = Env();
        env["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = pki.ServerKey;
        Assert.StartsWith($"OTEL_EXPORTER_OTLP_CLIENT_KEY={pki.ServerKey} does not belong to the certificate in OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE={pki.ClientCertificate}", Problem(env), StringComparison.Ordinal);
    }

    [Fact]
    public void A_client_certificate_without_a_key_and_a_key_without_a_certificate_are_refused()
    {
        var env = Env();
        env.Remove("OTEL_EXPORTER_OTLP_CLIENT_KEY");
        Assert.Equal($"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE={pki.ClientCertificate} is set but OTEL_EXPORTER_OTLP_CLIENT_KEY is not: a client certificate needs its private key", Problem(env));

        env = Env();
        env.Remove("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE");
        Assert.Equal($"OTEL_EXPORTER_OTLP_CLIENT_KEY={pki.ClientKey} is set but OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE is not: a client key needs its certificate", Problem(env));
    }

    [Fact]
    public void A_client_certificate_that_is_not_valid_yet_is_refused()
    {
        var env = Env();
        env["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"] = pki.FutureClientCertificate;
        env["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = pki.FutureClientKey;
        Assert.Contains("client certificate CN=future-app is not valid yet", Problem(env), StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreadable_key_file_is_named()
    {
        if (OperatingSystem.IsWindows() || Environment.UserName == "root")
        {
            return; // root reads everything; mode bits cannot make a file unreadable for it.
        }

        string dir = pki.NewDirectory();
        string key = Path.Combine(dir, "client.key");
        File.Copy(pki.ClientKey, key);
        File.SetUnixFileMode(key, UnixFileMode.None);
        var env = Env();
        env["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = key;
        Assert.Equal($"OTEL_EXPORTER_OTLP_CLIENT_KEY={key}: permission denied; the app's user must be able to read it", Problem(env));
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var env = Env("http://collector.example:4318");
        env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/json";
        env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "soon";
        env["OTEL_EXPORTER_OTLP_COMPRESSION"] = "brotli";
        var e = Assert.Throws<SecureOtlpConfigurationException>(() => Resolve(env));
        Assert.Equal(4, e.Problems.Count);
        Assert.Contains("(4 problems)", e.Message, StringComparison.Ordinal);
    }
}
