using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Hosting;

namespace TraceSeal.Collector.Tests.Hosting;

/// <summary>`sending_queue: {enabled: true}` alone: at first start the queue key is created 0600 next to the config, outside the queue directory (0700).</summary>
public sealed class DefaultSendingQueueTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("traceseal-queue-default-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Enabled_alone_creates_a_private_key_outside_a_private_queue_directory_and_refuses_a_readable_key()
    {
        var config = CollectorConfigLoader.Parse("""
            receivers:
              nop:
            exporters:
              otlp/upstream:
                endpoint: collector.internal:4317
                sending_queue:
                  enabled: true
            service:
              pipelines:
                traces:
                  receivers: [nop]
                  exporters: [otlp/upstream]
            """, Path.Combine(_dir, "collector.yaml"));
        string key = Path.Combine(_dir, "otlp_upstream.queue-key.pem");
        string queue = Path.Combine(_dir, "sending_queue", "otlp_upstream");

        await using (var exporter = ComponentFactory.CreateExporter("otlp/upstream", config.Exporters["otlp/upstream"], config.SourcePath, NullLoggerFactory.Instance))
        {
            await exporter.StartAsync(CancellationToken.None);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
            Assert.True(Directory.Exists(queue));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(queue));
            await exporter.StopAsync(CancellationToken.None);
        }

        // Modes are checked at every start, by the queue's own key loader.
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var error = Assert.ThrowsAny<InvalidOperationException>(() => ComponentFactory.CreateExporter("otlp/upstream", config.Exporters["otlp/upstream"], config.SourcePath, NullLoggerFactory.Instance));
        Assert.Contains($"{key} is accessible by group or others", error.Message, StringComparison.Ordinal);
    }
}
