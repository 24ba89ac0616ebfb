using System.Text;
using TraceSeal.OpenTelemetry.Tests.Infrastructure;

namespace TraceSeal.OpenTelemetry.Tests.DiskBuffer;

/// <summary>
/// The sealed disk buffer against a real mTLS receiver that is down, then comes back on the same port: batches
/// that fail after the retries are sealed to disk and re-sent, oldest first, exactly once each.
/// </summary>
[Collection(SdkCollection.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DiskBufferTests(TestPki pki)
{
    private const string SecretName = "secret-span-name";
    private const UnixFileMode Mode600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Mode700 = Mode600 | UnixFileMode.UserExecute;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task Failed_batches_are_sealed_to_disk_and_resent_when_the_collector_is_back(string protocol)
    {
        var paths = new Paths(pki.NewDirectory());
        int port = Receiver.FreePort();
        using var metrics = new MeterCapture();
        using var app = TestApp.Start(Environment(protocol, port, paths));

        // Collector down: each batch is retried until the deadline, then sealed to disk instead of dropped.
        app.Export(4, SecretName);
        app.Export(3, SecretName);
        await Eventually.WaitUntilAsync(() => paths.Pending().Length == 2, Wait, () => $"{paths.Pending().Length} files\n{app.Logs}");
        Assert.Equal(2, app.Logs.Count("ExportBuffered"));
        Assert.Equal(0, app.Logs.Count("ItemsDropped"));
        Assert.Equal(2, metrics.Total("traceseal.otlp.buffer.buffered"));

        // Sealed: the magic of the format, nothing of the content in the bytes or the names; private modes.
        foreach (string file in paths.Pending())
        {
            byte[] bytes = File.ReadAllBytes(file);
            Assert.Equal("TSEAL"u8.ToArray(), bytes[..5]);
            foreach (string marker in new[] { SecretName, "traceseal.test.index", TestApp.ServiceName })
            {
                Assert.DoesNotContain(marker, Encoding.Latin1.GetString(bytes), StringComparison.Ordinal);
                Assert.DoesNotContain(marker, file, StringComparison.Ordinal);
            }

            Assert.Matches(@"^\d{12}-[0-9a-f]{16}\.tsq$", Path.GetFileName(file));
            Assert.Equal(Mode600, File.GetUnixFileMode(file));
        }

        Assert.Equal(Mode700, File.GetUnixFileMode(paths.Buffer));
        Assert.Equal(Mode700, File.GetUnixFileMode(paths.Signal));
        Assert.Equal(Mode600, File.GetUnixFileMode(paths.Key));
        Assert.Contains("-----BEGIN PRIVATE KEY-----", File.ReadAllText(paths.Key), StringComparison.Ordinal);

        // Collector back on the same port: the next export succeeds, then the buffer drains, and its files go.
        await using var receiver = await StartReceiverAsync(protocol, port);
        Assert.True(app.Export(1, "live"));
        // The replay is logged after its files are deleted: wait for the log line too, not only for the files and spans.
        await Eventually.WaitUntilAsync(() => paths.Pending().Length == 0 && receiver.Spans >= 8 && app.Logs.Count("BufferReplayed") >= 2, Wait, () => $"{receiver.Spans} spans, {paths.Pending().Length} files\n{app.Logs}");

        Assert.Equal(8, receiver.Spans);
        Assert.Equal(2, receiver.Batches.Count(b => Encoding.UTF8.GetString(b.Payload).Contains(SecretName, StringComparison.Ordinal)));
        Assert.All(receiver.Batches, b => Assert.Contains("my-application", b.Identity, StringComparison.Ordinal));
        Assert.Equal(2, metrics.Total("traceseal.otlp.buffer.replayed"));
        Assert.Equal(2, app.Logs.Count("BufferReplayed"));
        Assert.Empty(Directory.GetFiles(paths.Buffer, "*", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData("grpc")]
    [InlineData("http/protobuf")]
    public async Task A_backlog_is_replayed_when_the_collector_returns_even_if_the_app_exports_nothing_new(string protocol)
    {
        var paths = new Paths(pki.NewDirectory());
        int port = Receiver.FreePort();
        using var app = TestApp.Start(Environment(protocol, port, paths));
        app.Export(5, SecretName);
        await Eventually.WaitUntilAsync(() => paths.Pending().Length == 1, Wait, () => $"{paths.Pending().Length} files\n{app.Logs}");

        // No further export: the periodic probe alone must find the collector and drain the buffer.
        await using var receiver = await StartReceiverAsync(protocol, port);
        await Eventually.WaitUntilAsync(() => paths.Pending().Length == 0 && receiver.Spans >= 5 && app.Logs.Count("BufferReplayed") >= 1, Wait, () => $"{receiver.Spans} spans, {paths.Pending().Length} files\n{app.Logs}");

        Assert.Equal(5, receiver.Spans);
        Assert.Equal(1, app.Logs.Count("BufferReplayed"));
    }

    [Fact]
    public void A_key_file_inside_the_buffer_directory_is_refused_at_start_up()
    {
        var paths = new Paths(pki.NewDirectory());
        string inside = Path.Combine(paths.Buffer, "keys", "buffer.identity.pem");
        var env = Environment("http/protobuf", Receiver.FreePort(), paths);
        env["TRACESEAL_OTLP_BUFFER_KEY_FILE"] = inside;

        var e = Assert.Throws<SecureOtlpConfigurationException>(() => TestApp.Start(env));

        Assert.Equal(
            $"TraceSeal OTLP exporter refuses to start: TRACESEAL_OTLP_BUFFER_KEY_FILE={inside} is inside the disk buffer directory TRACESEAL_OTLP_BUFFER_DIRECTORY={paths.Buffer}: whoever can read the buffer would also hold the key that opens it; keep the key file outside that directory",
            e.Message);
        Assert.False(File.Exists(inside));
        Assert.False(Directory.Exists(paths.Buffer));
    }

    [Fact]
    public void A_key_file_reached_through_a_symbolic_link_to_the_buffer_directory_is_refused_too()
    {
        var paths = new Paths(pki.NewDirectory());
        Directory.CreateDirectory(paths.Buffer);
        string link = Path.Combine(Path.GetDirectoryName(paths.Buffer)!, "elsewhere");
        Directory.CreateSymbolicLink(link, paths.Buffer);
        string key = Path.Combine(link, "buffer.identity.pem");

        var e = Assert.Throws<SecureOtlpConfigurationException>(() => TestApp.Start(
            TestApp.MutualTls(pki, $"https://127.0.0.1:{Receiver.FreePort()}", "grpc"),
            o => o.DiskBuffer = new SecureDiskBufferOptions { Directory = paths.Buffer, KeyFile = key }));

        Assert.Equal(
            $"TraceSeal OTLP exporter refuses to start: SecureOtlpOptions.DiskBuffer.KeyFile={key} is inside the disk buffer directory SecureOtlpOptions.DiskBuffer.Directory={paths.Buffer}: whoever can read the buffer would also hold the key that opens it; keep the key file outside that directory",
            e.Message);
        Assert.False(File.Exists(key));
    }

    [Fact]
    public async Task A_tampered_buffer_file_is_quarantined_and_never_sent()
    {
        var paths = new Paths(pki.NewDirectory());
        int port = Receiver.FreePort();
        using var metrics = new MeterCapture();
        var env = Environment("grpc", port, paths);
        using (var first = TestApp.Start(env))
        {
            first.Export(2, "batch-tampered");
            first.Export(3, "batch-intact");
            await Eventually.WaitUntilAsync(() => paths.Pending().Length == 2, Wait, () => first.Logs.ToString());
        }

        // The older file (the first batch) gets one payload byte flipped.
        string tampered = paths.Pending().OrderBy(File.GetLastWriteTimeUtc).First();
        byte[] bytes = File.ReadAllBytes(tampered);
        bytes[^20] ^= 0x01;
        File.WriteAllBytes(tampered, bytes);

        // A restarted app with the same buffer: the intact batch is re-sent, the tampered one is set aside.
        await using var receiver = await StartReceiverAsync("grpc", port);
        using var second = TestApp.Start(env);
        Assert.True(second.Export(1, "live"));
        await Eventually.WaitUntilAsync(() => paths.Pending().Length == 0 && receiver.Spans >= 4, Wait, () => $"{receiver.Spans} spans\n{second.Logs}");

        Assert.Equal(4, receiver.Spans);
        Assert.DoesNotContain(receiver.Batches, b => Encoding.UTF8.GetString(b.Payload).Contains("batch-tampered", StringComparison.Ordinal));
        Assert.Contains(receiver.Batches, b => Encoding.UTF8.GetString(b.Payload).Contains("batch-intact", StringComparison.Ordinal));
        Assert.True(File.Exists(tampered + ".bad"), string.Join(", ", Directory.GetFiles(paths.Signal)));
        string quarantined = Assert.Single(second.Logs.Messages("BufferQuarantined"));
        Assert.Contains("chunk_auth_failed", quarantined, StringComparison.Ordinal);
        Assert.Equal(1, metrics.Total("traceseal.otlp.buffer.quarantined"));
        Assert.Equal(1, metrics.Total("traceseal.otlp.buffer.replayed"));
    }

    [Fact]
    public async Task MaxBytes_drops_the_oldest_batches_and_counts_them()
    {
        int port = Receiver.FreePort();

        // One batch's sealed size, measured with the same span shape.
        var probe = new Paths(pki.NewDirectory());
        long size;
        using (var app = TestApp.Start(Environment("http/protobuf", port, probe)))
        {
            app.Export(5, "batch-0th");
            await Eventually.WaitUntilAsync(() => probe.Pending().Length == 1, Wait, () => app.Logs.ToString());
            size = new FileInfo(probe.Pending()[0]).Length;
        }

        // Room for two such batches, not three.
        var paths = new Paths(pki.NewDirectory());
        var env = Environment("http/protobuf", port, paths);
        env["TRACESEAL_OTLP_BUFFER_MAX_BYTES"] = (size * 5 / 2).ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var metrics = new MeterCapture();
        using var second = TestApp.Start(env);
        foreach (string name in new[] { "batch-1st", "batch-2nd", "batch-3rd", "batch-4th" })
        {
            second.Export(5, name);
        }

        await Eventually.WaitUntilAsync(() => second.Logs.Count("ExportBuffered") == 4, Wait, () => second.Logs.ToString());
        Assert.Equal(2, paths.Pending().Length);
        Assert.Equal(2, metrics.Total("traceseal.otlp.buffer.dropped{max_bytes}"));
        Assert.Equal(2, second.Logs.Count("BufferDropped"));
        Assert.True(paths.Pending().Sum(f => new FileInfo(f).Length) <= size * 5 / 2);

        await using var receiver = await StartReceiverAsync("http/protobuf", port);
        Assert.True(second.Export(1, "live"));
        await Eventually.WaitUntilAsync(() => paths.Pending().Length == 0 && receiver.Spans >= 11, Wait, () => $"{receiver.Spans} spans\n{second.Logs}");

        Assert.Equal(11, receiver.Spans);
        string received = string.Concat(receiver.Batches.Select(b => Encoding.UTF8.GetString(b.Payload)));
        Assert.DoesNotContain("batch-1st", received, StringComparison.Ordinal);
        Assert.DoesNotContain("batch-2nd", received, StringComparison.Ordinal);
        Assert.Contains("batch-3rd", received, StringComparison.Ordinal);
        Assert.Contains("batch-4th", received, StringComparison.Ordinal);
    }

    private Dictionary<string, string?> Environment(string protocol, int port, Paths paths)
    {
        var env = TestApp.MutualTls(pki, $"https://127.0.0.1:{port}", protocol);

        // A short deadline: the collector is down, so every export waits it out.
        env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "1000";
        env["TRACESEAL_OTLP_BUFFER_DIRECTORY"] = paths.Buffer;
        env["TRACESEAL_OTLP_BUFFER_KEY_FILE"] = paths.Key;
        return env;
    }

    private Task<Receiver> StartReceiverAsync(string protocol, int port) =>
        protocol == "grpc" ? Receiver.StartAsync(pki, grpcPort: port) : Receiver.StartAsync(pki, httpPort: port);

    /// <summary>A buffer directory and, beside it (never inside), the key file, neither created yet.</summary>
    private sealed class Paths(string root)
    {
        public string Buffer { get; } = Path.Combine(root, "buffer");

        public string Signal => Path.Combine(Buffer, "traces");

        public string Key { get; } = Path.Combine(root, "keys", "buffer.identity.pem");

        public string[] Pending() => Directory.Exists(Signal) ? Directory.GetFiles(Signal, "*.tsq") : [];
    }
}
