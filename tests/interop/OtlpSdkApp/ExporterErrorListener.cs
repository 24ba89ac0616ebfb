using System.Diagnostics.Tracing;

namespace TraceSeal.Interop.OtlpSdkApp;

/// <summary>
/// Listens to the OTLP exporter's EventSource. The SDK never throws on a failed export; these events are the
/// only record of what happened:
/// - Error/Critical events (FailedToReachCollector, HttpRequestFailed, ExportMethodException, ...) are failures,
///   printed to stderr as they happen;
/// - ExportSuccess (Informational) is counted: some failures log nothing at all (gRPC to a closed port), so
///   a run with zero successful exports is a failure too.
/// </summary>
internal sealed class ExporterErrorListener : EventListener
{
    public const string ExporterEventSourceName = "OpenTelemetry-Exporter-OpenTelemetryProtocol";

    // Logged at Error level by OpenTelemetry .NET 1.20.1 when it checks the PEM files of OTEL_EXPORTER_OTLP_CERTIFICATE
    // and _CLIENT_CERTIFICATE against the *system* trust store ("UntrustedRoot: self-signed certificate" for a private
    // CA, "PartialChain" for a client certificate it issued), although the export then succeeds with those very files.
    // A diagnostic, not an export failure: printed, not counted. A client certificate the server really rejects
    // still shows up as FailedToReachCollector / HttpRequestFailed.
    private static readonly HashSet<string> Diagnostics = ["MtlsCertificateChainValidationFailed"];

    private readonly List<string> _errors = [];
    private int _successfulExports;

    public int SuccessfulExports => Volatile.Read(ref _successfulExports);

    public IReadOnlyList<string> Snapshot()
    {
        lock (_errors)
        {
            return [.. _errors];
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == ExporterEventSourceName)
        {
            EnableEvents(eventSource, EventLevel.Informational, EventKeywords.All);
        }

        base.OnEventSourceCreated(eventSource);
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventSource.Name != ExporterEventSourceName)
        {
            return;
        }

        if (eventData.EventName == "ExportSuccess")
        {
            Interlocked.Increment(ref _successfulExports);
            return;
        }

        if (eventData.Level is not (EventLevel.Error or EventLevel.Critical))
        {
            return;
        }

        var payload = eventData.Payload is null ? string.Empty : string.Join(" | ", eventData.Payload);
        var line = $"{eventData.EventName}: {payload}";
        if (eventData.EventName is { } name && Diagnostics.Contains(name))
        {
            Console.Error.WriteLine($"otlp exporter diagnostic (not an export failure): {line}");
            return;
        }

        lock (_errors)
        {
            _errors.Add(line);
        }

        Console.Error.WriteLine($"otlp exporter error: {line}");
    }
}
