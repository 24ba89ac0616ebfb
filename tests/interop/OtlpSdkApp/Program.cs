// A stock OpenTelemetry .NET application, as the seeds configure one: AddOtlpExporter() with no options at all.
// Endpoint, protocol (grpc | http/protobuf) and the mTLS files come only from the environment:
//   OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_CERTIFICATE,
//   OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, OTEL_EXPORTER_OTLP_CLIENT_KEY.
//
//   dotnet OtlpSdkApp.dll N
//
// Creates N spans, force-flushes, prints one JSON line {spans, flushed, errors} and exits 0 only when the flush
// completed, the exporter's EventSource reported no error and at least one successful export; 1 on export
// failure; 2 on usage errors.
// The SDK never throws on a failed export: it only writes events, so listening to them is the way to know.

using System.Diagnostics;
using System.Text.Json;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using TraceSeal.Interop.OtlpSdkApp;

if (args.Length != 1 || !int.TryParse(args[0], out var spanCount) || spanCount < 1)
{
    Console.Error.WriteLine("usage: dotnet OtlpSdkApp.dll <number of spans>");
    return 2;
}

using var errors = new ExporterErrorListener();
const string SourceName = "TraceSeal.Interop.OtlpSdkApp";
var runId = Guid.NewGuid().ToString("N");

bool flushed;
using (var tracerProvider = Sdk.CreateTracerProviderBuilder()
    .SetResourceBuilder(ResourceBuilder.CreateDefault().AddService("traceseal-interop-dotnet"))
    .AddSource(SourceName)
    .AddOtlpExporter()
    .Build())
{
    using var source = new ActivitySource(SourceName);
    for (var i = 0; i < spanCount; i++)
    {
        using var activity = source.StartActivity($"interop-span-{i}");
        activity?.SetTag("traceseal.interop.run", runId);
        activity?.SetTag("traceseal.interop.index", i);
    }

    flushed = tracerProvider.ForceFlush(timeoutMilliseconds: 30_000);
}

var reported = errors.Snapshot();
var ok = flushed && reported.Count == 0 && errors.SuccessfulExports > 0;
Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
{
    ["run"] = runId,
    ["spans"] = spanCount,
    ["flushed"] = flushed,
    ["successfulExports"] = errors.SuccessfulExports,
    ["result"] = ok ? "SUCCESS" : "FAILED",
    ["errors"] = reported,
}));
return ok ? 0 : 1;
