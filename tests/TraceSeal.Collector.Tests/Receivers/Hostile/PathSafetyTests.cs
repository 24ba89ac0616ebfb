using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Hosting;
using TraceSeal.Sealing;
using TraceSeal.Storage;

namespace TraceSeal.Collector.Tests.Receivers.Hostile;

/// <summary>
/// Issue 14: an existing store or queue directory was used without checking its owner or mode, and the queue key's
/// owner and symlink-ness were not checked. Start-up now refuses, with one line naming the key, the path and the fix.
/// TLS material mounted from a Kubernetes Secret (symlinks through ..data) still loads.
/// </summary>
public sealed class PathSafetyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-paths-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void a_store_directory_writable_by_group_or_other_is_refused_with_the_fix()
    {
        string store = Path.Combine(_dir, "store");
        Directory.CreateDirectory(store, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(store, (UnixFileMode)0b111_111_111); // 0777

        var e = Assert.Throws<UnsafePathException>(() => PathSafety.CheckDirectory(store, "exporters::sealed_store::directory"));

        Assert.Equal($"exporters::sealed_store::directory: {store} is writable by other users (mode 0777); anyone who can write it could replace or delete what the collector writes there: chmod go-w {store}", e.Message);
        File.SetUnixFileMode(store, (UnixFileMode)0b111_111_101); // 0775: group still writes
        Assert.Contains("is writable by its group (mode 0775)", Assert.Throws<UnsafePathException>(() => PathSafety.CheckDirectory(store, "k")).Message, StringComparison.Ordinal);
        File.SetUnixFileMode(store, (UnixFileMode)0b111_000_000); // 0700
        PathSafety.CheckDirectory(store, "k");
        PathSafety.CheckDirectory(Path.Combine(_dir, "absent"), "k"); // created later by the collector, 0700
    }

    [Fact]
    public void a_queue_key_that_is_a_symlink_is_refused_but_a_tls_key_through_a_secret_mount_is_not()
    {
        string real = Path.Combine(_dir, "real.key");
        File.WriteAllText(real, "key");
        File.SetUnixFileMode(real, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string link = Path.Combine(_dir, "queue.key");
        File.CreateSymbolicLink(link, real);

        var e = Assert.Throws<UnsafePathException>(() => PathSafety.CheckOwnedKeyFile(link, "exporters::otlp::sending_queue::queue_key_file"));
        Assert.StartsWith($"exporters::otlp::sending_queue::queue_key_file: {link} is a symbolic link; a key file the collector owns must be a regular file", e.Message, StringComparison.Ordinal);
        PathSafety.CheckOwnedKeyFile(real, "k");

        // kubelet's layout: tls.key -> ..data/tls.key, ..data -> ..2025_01_01_00_00_00.123/ (root-owned, 0644 by default).
        string secret = Path.Combine(_dir, "secret");
        string version = Path.Combine(secret, "..2025_01_01_00_00_00.123");
        Directory.CreateDirectory(version);
        File.WriteAllText(Path.Combine(version, "tls.key"), "key");
        File.SetUnixFileMode(Path.Combine(version, "tls.key"), (UnixFileMode)0b110_100_100); // 0644
        Directory.CreateSymbolicLink(Path.Combine(secret, "..data"), version);
        File.CreateSymbolicLink(Path.Combine(secret, "tls.key"), Path.Combine("..data", "tls.key"));
        PathSafety.CheckTrustedFile(Path.Combine(secret, "tls.key"), "receivers::otlp::protocols::grpc::tls::key_file");

        // ...but its target may not be writable by others.
        File.SetUnixFileMode(Path.Combine(version, "tls.key"), (UnixFileMode)0b110_110_110); // 0666
        Assert.Contains("is writable by other users (mode 0666)", Assert.Throws<UnsafePathException>(() => PathSafety.CheckTrustedFile(Path.Combine(secret, "tls.key"), "k")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void a_path_owned_by_another_user_is_refused()
    {
        string store = Path.Combine(_dir, "theirs");
        Directory.CreateDirectory(store);
        File.SetUnixFileMode(store, (UnixFileMode)0b111_101_101);
        if (Environment.UserName != "root")
        {
            return; // giving a file away needs root; CI runs the tests as root
        }

        ChangeOwner(store, 12345);

        var e = Assert.Throws<UnsafePathException>(() => PathSafety.CheckDirectory(store, "exporters::otlp::sending_queue::directory"));

        Assert.Equal($"exporters::otlp::sending_queue::directory: {store} is owned by uid 12345, not by the collector's user (uid 0) or root; that user could replace what the collector writes there: chown 0 {store}", e.Message);
    }

    [Fact]
    public void the_collector_does_not_start_on_an_unsafe_store_directory_and_names_the_key()
    {
        string store = Path.Combine(_dir, "data");
        Directory.CreateDirectory(store);
        File.SetUnixFileMode(store, (UnixFileMode)0b111_111_111);
        KeyFiles.Init(Path.Combine(_dir, "keys"), "ops");
        string config = Path.Combine(_dir, "collector.yaml");
        File.WriteAllText(config, """
            receivers:
              otlp:
                protocols:
                  http:
                    endpoint: 127.0.0.1:0
                    allow_plaintext: true
            exporters:
              sealed_store:
                directory: data
                recipients: [keys/ops.recipient.pem]
            service:
              pipelines:
                traces:
                  receivers: [otlp]
                  exporters: [sealed_store]
            """);

        var e = Assert.Throws<UnsafePathException>(() => CollectorHost.Create(CollectorConfigLoader.Load(config), NullLoggerFactory.Instance));

        Assert.StartsWith($"exporters::sealed_store::directory: {store} is writable by other users (mode 0777)", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(store)); // nothing was written there
    }

    private static void ChangeOwner(string path, int uid)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("chown", [uid.ToString(System.Globalization.CultureInfo.InvariantCulture), path]) { RedirectStandardError = true })!;
        process.WaitForExit(10_000);
        Assert.Equal(0, process.ExitCode);
    }
}
