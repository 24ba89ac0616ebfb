using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Components;
using TraceSeal.Collector.Config;
using TraceSeal.Collector.Exporters;
using TraceSeal.Collector.Exporters.Discard;
using TraceSeal.Collector.Hosting;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Collector.Processors;
using TraceSeal.Otlp;
using YamlDotNet.RepresentationModel;

namespace TraceSeal.Benchmarks;

/// <summary>
/// What a pipeline pays for processors that change telemetry: the same 1000-span request (4 attributes of 16 bytes
/// per span, as loadgen sends it) through <see cref="TelemetryPipeline.ProcessAsync"/> to an exporter that does
/// nothing, with `batch` only (no decoding: the received bytes go on), with one `attributes` upsert (the floor:
/// decode, one change, re-encode, re-validate), the same upsert behind `include` (regexp on service and span name) and
/// `exclude` (an attribute key) that every span passes, and with `attributes` (hash, insert, delete) + `redaction`
/// (allow list, two blocked_values patterns). Divide by 1000 for the cost per span. The exporter is `discard`.
/// </summary>
[MemoryDiagnoser]
public class ProcessorBenchmarks
{
    private const string Processors = """
        processors:
          batch:
          attributes/upsert:
            actions:
              - {key: env, value: prod, action: upsert}
          attributes/include:
            include:
              match_type: regexp
              services: ["loadgen$"]
              span_names: ["^(GET|db)"]
            exclude:
              match_type: strict
              attributes: [{key: attr.9}]
            actions:
              - {key: env, value: prod, action: upsert}
          attributes:
            hash_key_file: hash.key
            actions:
              - {key: attr.0, action: hash}
              - {key: env, value: prod, action: insert}
              - {key: attr.3, action: delete}
          redaction:
            allowed_keys: [attr.0, attr.1, attr.2, env, service.name]
            blocked_values:
              - "[0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{4}"
              - "[a-z]+@[a-z]+\\.[a-z]+"
        """;

    private readonly byte[] _request = BenchPayloads.Protobuf;
    private TelemetryPipeline _none = null!;
    private TelemetryPipeline _upsert = null!;
    private TelemetryPipeline _include = null!;
    private IProcessor[] _includeProcessors = [];
    private TelemetryPipeline _scrub = null!;
    private string? _dir;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("traceseal-bench-").FullName;
        var keyFile = Path.Combine(_dir, "hash.key");
        File.WriteAllBytes(keyFile, RandomNumberGenerator.GetBytes(32));
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        // Each processor through the collector's own parser and factory (Components/ComponentTable.cs), as a loaded config builds it.
        var ctx = new ConfigContext(Path.Combine(_dir, "collector.yaml"), _dir, ConfigLoadOptions.Default);
        var stream = new YamlStream();
        stream.Load(new StringReader(Processors));
        var section = (YamlMappingNode)((YamlMappingNode)stream.Documents[0].RootNode).Children[new YamlScalarNode("processors")];
        var settings = new Dictionary<string, ProcessorSettings>(StringComparer.Ordinal);
        foreach (var (key, value) in section.Children)
        {
            string id = ((YamlScalarNode)key).Value!;
            string type = id.Split('/')[0];
            settings[id] = ComponentTable.Find(ComponentKind.Processor, type)!.Parse(ctx, id, YamlMap.From(ctx, value, key, "processors::" + id)!) as ProcessorSettings
                ?? throw new InvalidOperationException(string.Join('\n', ctx.Errors));
        }

        IProcessor Build(string id) => ComponentFactory.CreateProcessor(id, settings[id], NullLogger.Instance);
        var exporter = new DiscardExporter("discard");
        _none = new TelemetryPipeline("traces", OtlpSignal.Traces, [Build("batch")], [exporter]);
        _upsert = new TelemetryPipeline("traces", OtlpSignal.Traces, [Build("batch"), Build("attributes/upsert")], [exporter]);
        _includeProcessors = [Build("batch"), Build("attributes/include")];
        _include = new TelemetryPipeline("traces", OtlpSignal.Traces, _includeProcessors, [exporter]);
        _scrub = new TelemetryPipeline("traces", OtlpSignal.Traces, [Build("batch"), Build("attributes"), Build("redaction")], [exporter]);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_dir is not null)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Benchmark(Baseline = true, Description = "pipeline batch only, 1000 spans")]
    public bool None() => Run(_none);

    [Benchmark(Description = "pipeline attributes upsert, 1000 spans")]
    public bool Upsert() => Run(_upsert);

    [Benchmark(Description = "pipeline attributes upsert with include/exclude, 1000 spans")]
    public bool UpsertWithMatch() => Run(_include);

    [Benchmark(Description = "pipeline attributes+redaction, 1000 spans")]
    public bool AttributesAndRedaction() => Run(_scrub);

    /// <summary>
    /// CPU time (this process: the benchmark thread plus GC) per span for each pipeline, over <paramref name="duration"/>
    /// each after a warm-up: on a shared machine CPU time is what stays meaningful when wall time is inflated by other
    /// load. Prints one tab-separated <c>PROCESSORS_CPU</c> line per pipeline and round (round, name, requests, CPU µs per span).
    /// </summary>
    public static void MeasureCpu(TimeSpan duration)
    {
        var bench = new ProcessorBenchmarks();
        bench.Setup();
        try
        {
            // The include / exclude case measures matching plus the rewrite only if every span passes the filter.
            using (var check = TraceSeal.Collector.Processors.Transform.PayloadRewriter.For(bench._includeProcessors)!.Rewrite(bench.Batch()))
            {
                var rewritten = OpenTelemetry.Proto.Collector.Trace.V1.ExportTraceServiceRequest.Parser.ParseFrom(check.Batch.Payload.Span);
                int upserted = rewritten.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).Count(span => span.Attributes.Any(a => a.Key == "env"));
                Console.WriteLine($"PROCESSORS_CHECK\tinclude/exclude: {upserted} of {BenchPayloads.Spans} spans processed");
            }

            // Two rounds: the first pays tiered JIT (background compilation counts as process CPU) for whichever
            // pipeline first runs a code path; the second round is the one to read.
            for (int round = 1; round <= 2; round++)
            {
                foreach (var (name, pipeline) in new[] { ("batch only", bench._none), ("attributes upsert", bench._upsert), ("attributes upsert with include/exclude", bench._include), ("attributes+redaction", bench._scrub) })
                {
                    var warm = System.Diagnostics.Stopwatch.StartNew();
                    while (warm.Elapsed < TimeSpan.FromSeconds(2))
                    {
                        bench.Run(pipeline);
                    }

                    var process = System.Diagnostics.Process.GetCurrentProcess();
                    process.Refresh();
                    var cpuBefore = process.TotalProcessorTime;
                    var wall = System.Diagnostics.Stopwatch.StartNew();
                    long requests = 0;
                    while (wall.Elapsed < duration)
                    {
                        bench.Run(pipeline);
                        requests++;
                    }

                    process.Refresh();
                    double cpuUs = (process.TotalProcessorTime - cpuBefore).TotalMicroseconds;
                    Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                        $"PROCESSORS_CPU\tround {round}\t{name}\t{requests}\t{cpuUs / (requests * (double)BenchPayloads.Spans):F3}\twall_us_per_span={wall.Elapsed.TotalMicroseconds / (requests * (double)BenchPayloads.Spans):F3}"));
                }
            }
        }
        finally
        {
            bench.Cleanup();
        }
    }

    private ReceivedBatch Batch() => new()
    {
        Signal = OtlpSignal.Traces,
        Payload = _request,
        ItemCount = BenchPayloads.Spans,
        Tenant = "default",
        Identity = "cn:bench",
        Receiver = "otlp",
    };

    private bool Run(TelemetryPipeline pipeline)
    {
        var task = pipeline.ProcessAsync(Batch(), CancellationToken.None);
        return task.IsCompletedSuccessfully ? task.Result.Accepted : task.AsTask().GetAwaiter().GetResult().Accepted;
    }
}
