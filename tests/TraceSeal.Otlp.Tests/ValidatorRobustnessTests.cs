using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using Google.Protobuf;

namespace TraceSeal.Otlp.Tests;

/// <summary>Hostile input never throws; whatever the validator accepts, the reference parser accepts too.</summary>
public class ValidatorRobustnessTests
{
    public static TheoryData<OtlpSignal> Signals => new() { OtlpSignal.Traces, OtlpSignal.Metrics, OtlpSignal.Logs };

    private static byte[] Valid(OtlpSignal signal) => signal switch
    {
        OtlpSignal.Traces => TestRequests.Traces(3).ToByteArray(),
        OtlpSignal.Metrics => TestRequests.Metrics().ToByteArray(),
        _ => TestRequests.Logs().ToByteArray(),
    };

    private static MessageParser Parser(OtlpSignal signal) => signal switch
    {
        OtlpSignal.Traces => ExportTraceServiceRequest.Parser,
        OtlpSignal.Metrics => ExportMetricsServiceRequest.Parser,
        _ => ExportLogsServiceRequest.Parser,
    };

    [Theory]
    [MemberData(nameof(Signals))]
    public void Every_truncation_is_refused_or_a_consistent_prefix(OtlpSignal signal)
    {
        byte[] full = Valid(signal);
        Assert.True(OtlpValidator.TryValidate(full, signal, out OtlpSummary fullSummary, out _));
        int refused = 0;
        for (int length = 0; length < full.Length; length++)
        {
            byte[] prefix = full[..length];
            if (OtlpValidator.TryValidate(prefix, signal, out OtlpSummary summary, out OtlpError error))
            {
                Assert.True(summary.ItemCount <= fullSummary.ItemCount);
                Parser(signal).ParseFrom(prefix);
            }
            else
            {
                refused++;
                Assert.False(string.IsNullOrEmpty(error.Code));
            }
        }

        // Cutting inside the outer length-delimited field always breaks it.
        Assert.Equal(full.Length - 1, refused);
    }

    [Theory]
    [MemberData(nameof(Signals))]
    public void Random_bytes_never_throw(OtlpSignal signal)
    {
        var random = new Random(20240611);
        for (int i = 0; i < 3000; i++)
        {
            byte[] bytes = new byte[random.Next(0, 128)];
            random.NextBytes(bytes);
            if (OtlpValidator.TryValidate(bytes, signal, out _, out _))
            {
                Parser(signal).ParseFrom(bytes);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Signals))]
    public void Mutated_valid_messages_never_throw(OtlpSignal signal)
    {
        var random = new Random(7);
        byte[] valid = Valid(signal);
        int accepted = 0;
        for (int i = 0; i < 3000; i++)
        {
            byte[] bytes = (byte[])valid.Clone();
            for (int flips = random.Next(1, 4); flips > 0; flips--)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            if (OtlpValidator.TryValidate(bytes, signal, out _, out _))
            {
                accepted++;
                Parser(signal).ParseFrom(bytes);
            }
        }

        Assert.InRange(accepted, 1, 2999); // the corpus exercises both outcomes
    }
}
