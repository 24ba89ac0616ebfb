using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using TraceSeal.OpenTelemetry.Buffering;
using TraceSeal.OpenTelemetry.Configuration;
using TraceSeal.OpenTelemetry.Pipeline;
using TraceSeal.OpenTelemetry.Tests.Infrastructure;
using TraceSeal.Sealing;

namespace TraceSeal.OpenTelemetry.Tests.DiskBuffer;

/// <summary>
/// The buffer against hostile or left-over directory contents, driven directly (no collector): a key others can
/// read, an unusable key, truncated and garbage batch files, temp files of a write cut short by a crash, and files
/// written by the previous version. Each gives one exact line or is cleaned as the README says; no batch that was
/// reported as kept is lost.
/// </summary>
[Collection(SdkCollection.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DiskBufferDirectoryTests(TestPki pki)
{
    private const string Refuses = "TraceSeal OTLP exporter refuses to start: ";

    [Fact]
    public void a_key_file_group_or_others_can_read_refuses_start_up_with_the_chmod_that_fixes_it()
    {
        var dirs = new Dirs(pki.NewDirectory());
        using (Buffering.DiskBuffer first = dirs.Open(out _))
        {
            Assert.True(first.Write("batch"u8, 1));
        }

        File.SetUnixFileMode(dirs.Key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var e = Assert.Throws<SecureOtlpConfigurationException>(() => dirs.Open(out _));

        Assert.Equal($"{Refuses}TRACESEAL_OTLP_BUFFER_KEY_FILE={dirs.Key} is accessible by group or others (mode 0644); a private key others can read protects nothing: chmod 600 {dirs.Key}", e.Message);
        Assert.Single(dirs.Pending());
    }

    [Fact]
    public void a_key_file_without_a_private_key_refuses_start_up_and_says_what_deleting_it_costs()
    {
        var dirs = new Dirs(pki.NewDirectory());
        Directory.CreateDirectory(Path.GetDirectoryName(dirs.Key)!);
        File.WriteAllText(dirs.Key, "hello");
        File.SetUnixFileMode(dirs.Key, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var e = Assert.Throws<SecureOtlpConfigurationException>(() => dirs.Open(out _));

        Assert.Equal(
            $"{Refuses}TRACESEAL_OTLP_BUFFER_KEY_FILE={dirs.Key}: not a usable private key (no \"PRIVATE KEY\" or \"ENCRYPTED PRIVATE KEY\" PEM block found); replace it with the key the buffer was sealed to, or delete it to start with a new key (batches sealed to the old one are then set aside as .bad)",
            e.Message);
    }

    [Fact]
    public void the_key_is_created_0600_in_a_new_0700_directory_and_the_same_key_is_loaded_again()
    {
        var dirs = new Dirs(pki.NewDirectory());
        string keyId;
        using (Buffering.DiskBuffer first = dirs.Open(out LogCapture logs))
        {
            keyId = Assert.Single(logs.Messages("BufferStarted"));
            Assert.Contains(", created now", keyId, StringComparison.Ordinal);
            Assert.True(first.Write("kept"u8, 3));
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dirs.Key));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(dirs.Key)!));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(dirs.Key)!, "*.tmp"));

        using Buffering.DiskBuffer second = dirs.Open(out LogCapture again);
        Assert.DoesNotContain(", created now", Assert.Single(again.Messages("BufferStarted")), StringComparison.Ordinal);
        BufferedBatch batch = Assert.IsType<BufferedBatch>(second.Next(new HashSet<string>()));
        Assert.Equal("kept"u8.ToArray(), batch.Body);
        Assert.Equal(3, batch.Items);
    }

    [Fact]
    public void a_batch_and_key_written_by_the_previous_version_are_replayed()
    {
        var dirs = new Dirs(pki.NewDirectory());
        byte[] body = RandomNumberGenerator.GetBytes(300);
        string legacy = LegacyWriter.Write(dirs, body, items: 7);

        using Buffering.DiskBuffer buffer = dirs.Open(out _);
        BufferedBatch batch = Assert.IsType<BufferedBatch>(buffer.Next(new HashSet<string>()));

        Assert.Equal(legacy, batch.Path);
        Assert.Equal(body, batch.Body);
        Assert.Equal(7, batch.Items);
        buffer.Remove(batch);
        Assert.Empty(dirs.Pending());
    }

    [Fact]
    public void truncated_empty_and_garbage_batch_files_are_quarantined_with_their_code_and_the_good_batches_are_replayed()
    {
        var dirs = new Dirs(pki.NewDirectory());
        string truncated;
        using (Buffering.DiskBuffer first = dirs.Open(out _))
        {
            Assert.True(first.Write("first"u8, 1));
            truncated = Assert.Single(dirs.Pending());
            Assert.True(first.Write("second"u8, 2));
            Assert.True(first.Write("third"u8, 3));
        }

        byte[] bytes = File.ReadAllBytes(truncated);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        string empty = Path.Combine(dirs.Signal, "200001010000-0000000000000001.tsq");
        File.WriteAllBytes(empty, []);
        string garbage = Path.Combine(dirs.Signal, "200001010000-0000000000000002.tsq");
        File.WriteAllBytes(garbage, RandomNumberGenerator.GetBytes(4096));

        using Buffering.DiskBuffer buffer = dirs.Open(out LogCapture logs);
        var replayed = new List<string>();
        var skip = new HashSet<string>();
        while (buffer.Next(skip) is { } batch)
        {
            replayed.Add(System.Text.Encoding.ASCII.GetString(batch.Body));
            buffer.Remove(batch);
        }

        Assert.Equal(["second", "third"], replayed.Order(StringComparer.Ordinal));
        Assert.Empty(dirs.Pending());
        foreach (string bad in new[] { truncated, empty, garbage })
        {
            Assert.True(File.Exists(bad + ".bad"), bad);
        }

        string[] quarantined = [.. logs.Messages("BufferQuarantined").Order(StringComparer.Ordinal)];
        Assert.Equal(3, quarantined.Length);
        Assert.Contains(quarantined, m => m.StartsWith($"traces buffer file {Path.GetFileName(truncated)} failed authentication (truncated)", StringComparison.Ordinal));
        Assert.Contains(quarantined, m => m.StartsWith($"traces buffer file {Path.GetFileName(empty)} failed authentication (truncated)", StringComparison.Ordinal));
        Assert.Contains(quarantined, m => m.StartsWith($"traces buffer file {Path.GetFileName(garbage)} failed authentication (bad_magic)", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Error && l.EventName != "BufferQuarantined");
    }

    [Fact]
    public void temp_files_of_a_write_cut_short_are_deleted_at_start_and_the_written_batches_are_kept()
    {
        var dirs = new Dirs(pki.NewDirectory());
        string kept;
        using (Buffering.DiskBuffer first = dirs.Open(out _))
        {
            Assert.True(first.Write("kept"u8, 1));
            kept = Assert.Single(dirs.Pending());
        }

        // This version's temp name (NAME.tsq.tmp) and the previous version's (.HEX.tmp), each half a sealed object.
        byte[] half = File.ReadAllBytes(kept)[..40];
        string current = Path.Combine(dirs.Signal, "209912312359-00000000000000aa.tsq.tmp");
        string previous = Path.Combine(dirs.Signal, ".00000000000000bb.tmp");
        File.WriteAllBytes(current, half);
        File.WriteAllBytes(previous, half);

        using Buffering.DiskBuffer buffer = dirs.Open(out LogCapture logs);

        Assert.False(File.Exists(current));
        Assert.False(File.Exists(previous));
        Assert.Contains("1 batch(es) waiting", Assert.Single(logs.Messages("BufferStarted")), StringComparison.Ordinal);
        BufferedBatch batch = Assert.IsType<BufferedBatch>(buffer.Next(new HashSet<string>()));
        Assert.Equal("kept"u8.ToArray(), batch.Body);
        Assert.Null(buffer.Next(new HashSet<string> { batch.Path }));
        Assert.Empty(logs.Messages("BufferQuarantined"));
    }

    /// <summary>A buffer directory and, beside it, its key file (neither created yet), and a DiskBuffer of the traces signal over them.</summary>
    private sealed class Dirs(string root)
    {
        public string Buffer { get; } = Path.Combine(root, "buffer");

        public string Signal => Path.Combine(Buffer, "traces");

        public string Key { get; } = Path.Combine(root, "keys", "buffer.identity.pem");

        public string[] Pending() => Directory.Exists(Signal) ? Directory.GetFiles(Signal, "*.tsq") : [];

        public Buffering.DiskBuffer Open(out LogCapture logs)
        {
            var env = new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:1",
                ["OTEL_EXPORTER_OTLP_INSECURE"] = "true",
                ["TRACESEAL_OTLP_BUFFER_DIRECTORY"] = Buffer,
                ["TRACESEAL_OTLP_BUFFER_KEY_FILE"] = Key,
            };
            var options = new SecureOtlpOptions();
            ExporterSettings settings;
            try
            {
                settings = SettingsResolver.Resolve(OtlpSignalKind.Traces, options, key => env.TryGetValue(key, out string? v) ? v : null);
            }
            catch (SecureOtlpConfigurationException e)
            {
                throw new InvalidOperationException("the test's settings do not resolve: " + e.Message, e);
            }

            var capture = new LogCapture();
            logs = capture;
            return new Buffering.DiskBuffer(new ExporterContext(settings, options, () => capture), settings.Buffer!);
        }
    }

    /// <summary>
    /// The write path of the version before the buffer used Sealing/Files (98cabcb, DiskBuffer.Write and EnsureKey),
    /// kept here as it was so that its files stay readable: key by `KeyFiles.Init` under a temporary name, renamed;
    /// batch as "TSQ1" ‖ u32 BE items ‖ body sealed (kind queue, tenant = signal) to `.HEX.tmp`, fsync'ed, renamed.
    /// </summary>
    private static class LegacyWriter
    {
        public static string Write(Dirs dirs, byte[] body, long items)
        {
            string keyDirectory = Path.GetDirectoryName(dirs.Key)!;
            Directory.CreateDirectory(keyDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            IReadOnlyList<string> keyFiles = KeyFiles.Init(keyDirectory, "tsbuf-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)));
            File.Move(keyFiles[1], dirs.Key, overwrite: false);
            File.Delete(keyFiles[0]);
            IRecipient recipient;
            using (var key = ECDiffieHellman.Create())
            {
                key.ImportFromPem(File.ReadAllText(dirs.Key));
                recipient = KeyFiles.ParseRecipient(key.ExportSubjectPublicKeyInfoPem());
            }

            byte[] plaintext = new byte[4 + 4 + body.Length];
            "TSQ1"u8.CopyTo(plaintext);
            BinaryPrimitives.WriteUInt32BigEndian(plaintext.AsSpan(4), (uint)items);
            body.CopyTo(plaintext.AsSpan(8));
            byte[] sealedObject = Sealer.Seal(plaintext, ObjectKind.Queue, "traces", [recipient]);

            Directory.CreateDirectory(dirs.Signal, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            string final = Path.Combine(dirs.Signal, DateTime.UtcNow.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)) + ".tsq");
            string temp = Path.Combine(dirs.Signal, "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)) + ".tmp");
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite };
            using (var stream = new FileStream(temp, options))
            {
                stream.Write(sealedObject);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, final, overwrite: false);
            return final;
        }
    }
}
