using Google.Protobuf;

namespace TraceSeal.Otlp.Tests;

public class ValidatorAllocationTests
{
    [Fact]
    public void Validating_1000_spans_allocates_nothing()
    {
        byte[] bytes = TestRequests.Traces(1000).ToByteArray();
        var visitor = new CountingVisitor();
        Assert.True(OtlpValidator.TryValidate(bytes, OtlpSignal.Traces, ref visitor, out _, out _)); // warm up (JIT, statics)
        Assert.True(OtlpValidator.TryValidate(bytes, OtlpSignal.Traces, out _, out _));

        long before = GC.GetAllocatedBytesForCurrentThread();
        bool ok = OtlpValidator.TryValidate(bytes, OtlpSignal.Traces, ref visitor, out OtlpSummary summary, out _);
        bool okPlain = OtlpValidator.TryValidate(bytes, OtlpSignal.Traces, out _, out _);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(ok && okPlain);
        Assert.Equal(1000, summary.ItemCount);
        Assert.Equal(2000, visitor.Spans);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Validating_metrics_and_logs_allocates_nothing()
    {
        byte[] metrics = TestRequests.Metrics().ToByteArray();
        byte[] logs = TestRequests.Logs().ToByteArray();
        OtlpValidator.TryValidate(metrics, OtlpSignal.Metrics, out _, out _);
        OtlpValidator.TryValidate(logs, OtlpSignal.Logs, out _, out _);

        long before = GC.GetAllocatedBytesForCurrentThread();
        OtlpValidator.TryValidate(metrics, OtlpSignal.Metrics, out _, out _);
        OtlpValidator.TryValidate(logs, OtlpSignal.Logs, out _, out _);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
