using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace TraceSeal.OpenTelemetry.Tests.Infrastructure;

/// <summary>Sums the exporter's own counters (meter TraceSeal.OpenTelemetry) from creation on, by name and by name{reason}.</summary>
internal sealed class MeterCapture : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new(StringComparer.Ordinal);

    public MeterCapture()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == SecureOtlpExporterExtensions.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            _totals.AddOrUpdate(instrument.Name, value, (_, v) => v + value);
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "reason")
                {
                    _totals.AddOrUpdate($"{instrument.Name}{{{tag.Value}}}", value, (_, v) => v + value);
                }
            }
        });
        _listener.Start();
    }

    public long Total(string name) => _totals.TryGetValue(name, out long value) ? value : 0;

    public override string ToString() => string.Join(", ", _totals.Select(t => $"{t.Key}={t.Value}"));

    public void Dispose() => _listener.Dispose();
}
