using TraceSeal.OpenTelemetry.Configuration;
using TraceSeal.OpenTelemetry.Tests.Infrastructure;

namespace TraceSeal.OpenTelemetry.Tests.DiskBuffer;

/// <summary>The buffer's start-up checks: off by default, each incomplete or unsafe setting named precisely.</summary>
[Collection(SdkCollection.Name)]
public sealed class DiskBufferSettingsTests(TestPki pki)
{
    private ExporterSettings Resolve(Dictionary<string, string?> extra, SecureOtlpOptions? options = null)
    {
        var env = TestApp.MutualTls(pki, "https://collector.example:4318", "http/protobuf");
        foreach (KeyValuePair<string, string?> pair in extra)
        {
            env[pair.Key] = pair.Value;
        }

        return SettingsResolver.Resolve(OtlpSignalKind.Traces, options ?? new SecureOtlpOptions(), key => env.TryGetValue(key, out string? v) ? v : null);
    }

    private string Problem(Dictionary<string, string?> extra) =>
        Assert.Single(Assert.Throws<SecureOtlpConfigurationException>(() => Resolve(extra)).Problems);

    [Fact]
    public void The_buffer_is_off_unless_a_directory_is_set_and_options_win_over_variables()
    {
        Assert.Null(Resolve([]).Buffer);

        string root = pki.NewDirectory();
        BufferSettings buffer = Resolve(
            new() { ["TRACESEAL_OTLP_BUFFER_DIRECTORY"] = "/ignored", ["TRACESEAL_OTLP_BUFFER_KEY_FILE"] = "/ignored.pem", ["TRACESEAL_OTLP_BUFFER_MAX_BYTES"] = "1000" },
            new SecureOtlpOptions { DiskBuffer = new SecureDiskBufferOptions { Directory = Path.Combine(root, "b"), KeyFile = Path.Combine(root, "k.pem") } }).Buffer!;
        Assert.Equal(Path.Combine(root, "b"), buffer.Directory);
        Assert.Equal("SecureOtlpOptions.DiskBuffer.Directory", buffer.DirectorySource);
        Assert.Equal(Path.Combine(root, "k.pem"), buffer.KeyFile);
        Assert.Equal(1000, buffer.MaxBytes);
    }

    [Fact]
    public void Incomplete_or_invalid_buffer_settings_are_refused()
    {
        Assert.Equal(
            "TRACESEAL_OTLP_BUFFER_DIRECTORY=/var/buffer is set but TRACESEAL_OTLP_BUFFER_KEY_FILE is not: the disk buffer is sealed to a key file kept outside the buffer directory; set TRACESEAL_OTLP_BUFFER_KEY_FILE to its path (it is created on first use)",
            Problem(new() { ["TRACESEAL_OTLP_BUFFER_DIRECTORY"] = "/var/buffer" }));
        Assert.Equal(
            "TRACESEAL_OTLP_BUFFER_KEY_FILE is set but TRACESEAL_OTLP_BUFFER_DIRECTORY is not: the disk buffer needs a directory (or remove the buffer settings)",
            Problem(new() { ["TRACESEAL_OTLP_BUFFER_KEY_FILE"] = "/etc/k.pem" }));
        Assert.Equal(
            "TRACESEAL_OTLP_BUFFER_MAX_BYTES=-5: not a positive number of bytes",
            Problem(new() { ["TRACESEAL_OTLP_BUFFER_DIRECTORY"] = "/var/buffer", ["TRACESEAL_OTLP_BUFFER_KEY_FILE"] = "/etc/k.pem", ["TRACESEAL_OTLP_BUFFER_MAX_BYTES"] = "-5" }));
        Assert.Equal(
            "TRACESEAL_OTLP_BUFFER_KEY_FILE=/var/buffer is inside the disk buffer directory TRACESEAL_OTLP_BUFFER_DIRECTORY=/var/buffer/: whoever can read the buffer would also hold the key that opens it; keep the key file outside that directory",
            Problem(new() { ["TRACESEAL_OTLP_BUFFER_DIRECTORY"] = "/var/buffer/", ["TRACESEAL_OTLP_BUFFER_KEY_FILE"] = "/var/buffer" }));

        // A sibling whose name merely starts like the directory is outside it.
        Assert.NotNull(Resolve(new() { ["TRACESEAL_OTLP_BUFFER_DIRECTORY"] = "/var/buffer", ["TRACESEAL_OTLP_BUFFER_KEY_FILE"] = "/var/buffer-key.pem" }).Buffer);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void An_unusable_key_file_refuses_start_up()
    {
        string root = pki.NewDirectory();
        string key = Path.Combine(root, "not-a-key.pem");
        File.WriteAllText(key, "hello");
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var env = TestApp.MutualTls(pki, "https://127.0.0.1:1", "grpc");
        env["TRACESEAL_OTLP_BUFFER_DIRECTORY"] = Path.Combine(root, "buffer");
        env["TRACESEAL_OTLP_BUFFER_KEY_FILE"] = key;

        var e = Assert.Throws<SecureOtlpConfigurationException>(() => TestApp.Start(env));

        Assert.StartsWith($"TraceSeal OTLP exporter refuses to start: TRACESEAL_OTLP_BUFFER_KEY_FILE={key}: not a usable private key (", e.Message, StringComparison.Ordinal);
        Assert.Contains("no \"PRIVATE KEY\"", e.Message, StringComparison.Ordinal);
    }
}
