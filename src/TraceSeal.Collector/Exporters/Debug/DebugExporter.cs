using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Otlp;

namespace TraceSeal.Collector.Exporters.Debug;

/// <summary>
/// Writes what it receives, as upstream's `debug` exporter: with `basic` one line of counts per batch (nothing of
/// the telemetry itself), with `normal` one line per span / metric / log record, with `detailed` the request as
/// OTLP/JSON. The last two exist only behind `allow_plaintext: true` (the loader refuses them otherwise). Lines
/// are sampled per second as upstream's zap sampler does (<see cref="DebugSampler"/>). Always accepts.
/// </summary>
internal sealed class DebugExporter : IExporter
{
    private readonly DebugExporterSettings _settings;
    private readonly ILogger _logger;
    private readonly TextWriter _stdout;
    private readonly DebugSampler _sampler;

    /// <param name="stdout">Where `use_internal_logger: false` writes (standard output by default; tests pass their own).</param>
    public DebugExporter(string id, DebugExporterSettings settings, ILogger logger, TextWriter? stdout = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(logger);
        Id = id;
        _settings = settings;
        _logger = logger;
        _stdout = stdout ?? Console.Out;
        _sampler = new DebugSampler(settings.SamplingInitial, settings.SamplingThereafter, time ?? TimeProvider.System);
    }

    public string Id { get; }

    /// <summary>Batches whose line was written (after sampling).</summary>
    public long Written => _sampler.Logged;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask<SinkResult> ExportAsync(ReceivedBatch batch, CancellationToken cancellationToken)
    {
        if (_sampler.ShouldLog())
        {
            Write(Summary(batch));
            if (_settings.Verbosity == DebugVerbosity.Detailed)
            {
                Write(OtlpJson.ToJson(batch.Payload.Span, batch.Signal));
            }
            else if (_settings.Verbosity == DebugVerbosity.Normal)
            {
                foreach (string line in NormalLines(batch))
                {
                    Write(line);
                }
            }
        }

        return ValueTask.FromResult(SinkResult.Ok);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Upstream's basic line: `TracesExporter {"kind": "exporter", "data_type": "traces", "name": "debug", "resource spans": 1, "spans": 2}`.</summary>
    internal string Summary(ReceivedBatch batch)
    {
        int resources = CountTopLevel(batch.Payload.Span);
        return batch.Signal switch
        {
            OtlpSignal.Traces => $"TracesExporter {{\"kind\": \"exporter\", \"data_type\": \"traces\", \"name\": \"{Id}\", \"resource spans\": {resources}, \"spans\": {batch.ItemCount}}}",
            OtlpSignal.Metrics => $"MetricsExporter {{\"kind\": \"exporter\", \"data_type\": \"metrics\", \"name\": \"{Id}\", \"resource metrics\": {resources}, \"data points\": {batch.ItemCount}}}",
            _ => $"LogsExporter {{\"kind\": \"exporter\", \"data_type\": \"logs\", \"name\": \"{Id}\", \"resource logs\": {resources}, \"log records\": {batch.ItemCount}}}",
        };
    }

    private void Write(string line)
    {
        if (_settings.UseInternalLogger)
        {
            DebugExporterLog.Line(_logger, line);
        }
        else
        {
            _stdout.WriteLine(line);
        }
    }

    /// <summary>`normal`: one line per span (name, trace id, span id, attributes), metric (name, unit) or log record (body, attributes).</summary>
    private static IEnumerable<string> NormalLines(ReceivedBatch batch)
    {
        switch (batch.Signal)
        {
            case OtlpSignal.Traces:
                foreach (var resource in ExportTraceServiceRequest.Parser.ParseFrom(batch.Payload.Span).ResourceSpans)
                {
                    foreach (var scope in resource.ScopeSpans)
                    {
                        foreach (var span in scope.Spans)
                        {
                            yield return $"{span.Name} {Convert.ToHexStringLower(span.TraceId.Span)} {Convert.ToHexStringLower(span.SpanId.Span)}{Attributes(span.Attributes)}";
                        }
                    }
                }

                break;
            case OtlpSignal.Metrics:
                foreach (var resource in ExportMetricsServiceRequest.Parser.ParseFrom(batch.Payload.Span).ResourceMetrics)
                {
                    foreach (var scope in resource.ScopeMetrics)
                    {
                        foreach (var metric in scope.Metrics)
                        {
                            yield return $"{metric.Name} {metric.DataCase} {metric.Unit}".TrimEnd();
                        }
                    }
                }

                break;
            default:
                foreach (var resource in ExportLogsServiceRequest.Parser.ParseFrom(batch.Payload.Span).ResourceLogs)
                {
                    foreach (var scope in resource.ScopeLogs)
                    {
                        foreach (var record in scope.LogRecords)
                        {
                            yield return $"{Value(record.Body)}{Attributes(record.Attributes)}";
                        }
                    }
                }

                break;
        }
    }

    private static string Attributes(IEnumerable<KeyValue> attributes)
    {
        var text = new StringBuilder();
        foreach (var kv in attributes)
        {
            text.Append(' ').Append(kv.Key).Append('=').Append(Value(kv.Value));
        }

        return text.ToString();
    }

    private static string Value(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        null or AnyValue.ValueOneofCase.None => "",
        _ => value.ToString(),
    };

    /// <summary>
    /// Occurrences of field 1 (resource_spans / resource_metrics / resource_logs) at the top level of an export
    /// request, without decoding them: a length-delimited walk. The receiver validated the payload already.
    /// </summary>
    internal static int CountTopLevel(ReadOnlySpan<byte> payload)
    {
        int count = 0;
        int pos = 0;
        while (pos < payload.Length)
        {
            if (!TryVarint(payload, ref pos, out ulong tag))
            {
                break;
            }

            switch ((int)(tag & 7))
            {
                case 0:
                    if (!TryVarint(payload, ref pos, out _))
                    {
                        return count;
                    }

                    break;
                case 1:
                    pos += 8;
                    break;
                case 2:
                    if (!TryVarint(payload, ref pos, out ulong length) || length > (ulong)(payload.Length - pos))
                    {
                        return count;
                    }

                    pos += (int)length;
                    break;
                case 5:
                    pos += 4;
                    break;
                default:
                    return count;
            }

            if ((tag >> 3) == 1)
            {
                count++;
            }
        }

        return count;
    }

    private static bool TryVarint(ReadOnlySpan<byte> buffer, ref int pos, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 64 && (uint)pos < (uint)buffer.Length; shift += 7)
        {
            byte b = buffer[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// Upstream's zap sampler, per exporter: in each one-second window the first <c>initial</c> messages are
/// logged, then every <c>thereafter</c>-th. Thread-safe without a lock (a window change races benignly).
/// </summary>
internal sealed class DebugSampler(int initial, int thereafter, TimeProvider time)
{
    private long _window = -1;
    private long _inWindow;
    private long _logged;

    public long Logged => Interlocked.Read(ref _logged);

    public bool ShouldLog()
    {
        long window = time.GetUtcNow().ToUnixTimeSeconds();
        if (Interlocked.Exchange(ref _window, window) != window)
        {
            Interlocked.Exchange(ref _inWindow, 0);
        }

        long n = Interlocked.Increment(ref _inWindow);
        bool log = n <= initial || (n - initial) % thereafter == 0;
        if (log)
        {
            Interlocked.Increment(ref _logged);
        }

        return log;
    }
}

/// <summary>Log events of the debug exporter (ids 8101+, append only).</summary>
internal static partial class DebugExporterLog
{
    [LoggerMessage(8101, LogLevel.Information, "{Line}", EventName = "DebugExporter")]
    public static partial void Line(ILogger logger, string line);
}
