// SecureExportApp: the whole integration is one call, AddSecureOtlpExporter(). Endpoint, protocol, CA, client
// certificate and key come from the environment (see README.md). A bad configuration stops the app here, at
// start-up, with a message naming the variable and the file; nothing is ever sent in plaintext.
//
//   dotnet run --project samples/SecureExportApp -- [number of spans, default 10]
//
// Prints one line with the exporter's own counts (meter "TraceSeal.OpenTelemetry") and exits 0 when every span
// was exported, 1 otherwise, 2 on a configuration error.

using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using OpenTelemetry;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using TraceSeal.OpenTelemetry;

int spans = args.Length > 0 && int.TryParse(args[0], NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : 10;
const string SourceName = "SecureExportApp";

long exported = 0;
long dropped = 0;
using var listener = new MeterListener();
listener.InstrumentPublished = (instrument, l) =>
{
    if (instrument.Meter.Name == SecureOtlpExporterExtensions.MeterName)
    {
        l.EnableMeasurementEvents(instrument);
    }
};
listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
{
    if (instrument.Name == "traceseal.otlp.exported")
    {
        Interlocked.Add(ref exported, value);
    }
    else if (instrument.Name == "traceseal.otlp.dropped")
    {
        Interlocked.Add(ref dropped, value);
    }
});
listener.Start();

TracerProvider provider;
try
{
    provider = Sdk.CreateTracerProviderBuilder()
        .SetResourceBuilder(ResourceBuilder.CreateDefault().AddService("secure-export-app"))
        .AddSource(SourceName)
        .AddSecureOtlpExporter()
        .Build();
}
catch (SecureOtlpConfigurationException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

using (provider)
using (var source = new ActivitySource(SourceName))
{
    for (int i = 0; i < spans; i++)
    {
        using Activity? activity = source.StartActivity("secure-span-" + i);
        activity?.SetTag("sample.index", i);
    }

    provider.ForceFlush(30_000);
}

Console.WriteLine($"spans={spans} exported={Interlocked.Read(ref exported)} dropped={Interlocked.Read(ref dropped)}");
return Interlocked.Read(ref exported) == spans ? 0 : 1;
