using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters.Otlp;
using TraceSeal.Collector.Tests.Config;

namespace TraceSeal.Collector.Tests.Exporters.Queue;

/// <summary>`sending_queue` keys of the otlp/otlphttp exporters: directory, queue_key_file, max_backlog_bytes.</summary>
public sealed class SendingQueueConfigTests : IDisposable
{
    private const string Receiver = """
        receivers:
          otlp:
            protocols:
              grpc:
                allow_plaintext: true
        exporters:
          otlp:
            endpoint: collector.internal:4317

        """;

    private const string Service = """

        service:
          pipelines:
            traces:
              receivers: [otlp]
              exporters: [otlp]
        """;

    private readonly ConfigFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public void The_sealed_queue_loads_with_resolved_paths_and_a_backlog_limit()
    {
        var config = _f.Parse(Receiver + """
                sending_queue:
                  directory: data/queue
                  queue_key_file: keys/queue.pem
                  max_backlog_bytes: 256MiB
            """ + Service);

        var queue = Assert.IsType<OtlpExporterSettings>(config.Exporters["otlp"]).Queue;
        Assert.True(queue.IsSealedQueue);
        Assert.Equal(_f.Path("data/queue"), queue.Directory);
        Assert.Equal(_f.Path("keys/queue.pem"), queue.QueueKeyFile);
        Assert.Equal(256L * 1024 * 1024, queue.MaxBacklogBytes);
    }

    [Fact]
    public void Without_a_directory_there_is_no_queue_as_before()
    {
        var config = _f.Parse(Receiver + """
                sending_queue:
                  num_consumers: 4
            """ + Service);

        Assert.False(Assert.IsType<OtlpExporterSettings>(config.Exporters["otlp"]).Queue.IsSealedQueue);
    }

    [Fact]
    public void A_queue_key_inside_the_queue_directory_is_an_error()
    {
        var errors = _f.Errors(Receiver + """
                sending_queue:
                  enabled: true
                  directory: data/queue
                  queue_key_file: data/queue/queue.pem
            """ + Service);

        Assert.Equal(
            [
                _f.At(12, 23, $"exporters::otlp::sending_queue::queue_key_file: {_f.Path("data/queue/queue.pem")} is inside sending_queue::directory {_f.Path("data/queue")}; keep the queue key outside the queue directory, so that a copy of the directory alone cannot be read"),
            ],
            errors);
    }

    [Fact]
    public void Enabled_alone_is_the_sealed_queue_with_a_default_directory_and_a_key_outside_it()
    {
        var config = _f.Parse(Receiver.Replace("  otlp:\n    endpoint", "  otlp/upstream:\n    endpoint", StringComparison.Ordinal) + """
                sending_queue:
                  enabled: true
            """ + Service.Replace("exporters: [otlp]", "exporters: [otlp/upstream]", StringComparison.Ordinal));

        var queue = Assert.IsType<OtlpExporterSettings>(config.Exporters["otlp/upstream"]).Queue;
        Assert.True(queue.IsSealedQueue);
        Assert.Equal(_f.Path("sending_queue/otlp_upstream"), queue.Directory);
        Assert.Equal(_f.Path("otlp_upstream.queue-key.pem"), queue.QueueKeyFile);
    }

    [Fact]
    public void Storage_stays_refused()
    {
        var errors = _f.Errors(Receiver + """
                sending_queue:
                  storage: file_storage
            """ + Service);

        Assert.Equal(
            [
                _f.At(10, 7, "exporters::otlp::sending_queue::storage: a persistent queue (file_storage) keeps telemetry in plaintext at rest; remove storage and set directory and queue_key_file: TraceSeal's sending queue is sealed on disk"),
            ],
            errors);
    }
}
