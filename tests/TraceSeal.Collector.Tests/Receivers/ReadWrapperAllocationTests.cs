using System.IO.Pipelines;
using TraceSeal.Collector.Receivers;
using TraceSeal.Collector.Tls;

namespace TraceSeal.Collector.Tests.Receivers;

/// <summary>
/// Every read of a TLS connection passes through <see cref="ClientHelloSniffer"/> (under SslStream) and, on HTTP/2,
/// <see cref="Http2ControlFrameGuard"/> (under Kestrel's frame parser): several per request. A read that has to wait
/// for data must cost neither of them an allocation (each allocated an async state machine per wait before).
/// Everything runs inline on the test thread (inline pipe schedulers), so the thread's allocation counter sees it all.
/// </summary>
public sealed class ReadWrapperAllocationTests
{
    private const int Reads = 2000;

    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    // One HTTP/2 DATA frame (RFC 9113 §4.1, §6.1) of 100 bytes on stream 1.
    private static readonly byte[] DataFrame = [0, 0, 100, 0x0, 0x0, 0, 0, 0, 1, .. new byte[100]];

    [Fact]
    public async Task a_waiting_read_through_the_control_frame_guard_allocates_nothing_of_its_own()
    {
        long direct = await AllocatedPerReadAsync(reader => reader);
        long guarded = await AllocatedPerReadAsync(reader => new Http2ControlFrameGuard(reader, () => throw new InvalidOperationException("not a flood")));

        Assert.True(guarded <= direct, $"a read through the guard allocated {guarded} bytes, the pipe's own read {direct}");
    }

    [Fact]
    public async Task a_waiting_read_through_the_client_hello_sniffer_allocates_nothing_of_its_own_once_it_has_the_head()
    {
        long direct = await AllocatedPerReadAsync(reader => reader);
        long sniffed = await AllocatedPerReadAsync(reader => new ClientHelloSniffer(reader));

        Assert.True(sniffed <= direct, $"a read through the sniffer allocated {sniffed} bytes, the pipe's own read {direct}");
    }

    /// <summary>Bytes allocated per read that waits for a write, after a warm-up (the first waits fill the pools).</summary>
    private static async Task<long> AllocatedPerReadAsync(Func<PipeReader, PipeReader> wrap)
    {
        var pipe = new Pipe(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));
        PipeReader reader = wrap(pipe.Reader);
        await pipe.Writer.WriteAsync(Preface);
        ReadResult first = await reader.ReadAsync();
        reader.AdvanceTo(first.Buffer.End);

        for (int i = 0; i < 200; i++)
        {
            await OneWaitingReadAsync(pipe.Writer, reader);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Reads; i++)
        {
            await OneWaitingReadAsync(pipe.Writer, reader);
        }

        return (GC.GetAllocatedBytesForCurrentThread() - before) / Reads;
    }

    private static async Task OneWaitingReadAsync(PipeWriter writer, PipeReader reader)
    {
        ValueTask<ReadResult> read = reader.ReadAsync();
        Assert.False(read.IsCompleted, "the read waits for data");
        await writer.WriteAsync(DataFrame); // completes the read inline
        ReadResult result = await read;
        Assert.Equal(DataFrame.Length, result.Buffer.Length);
        reader.AdvanceTo(result.Buffer.End);
    }
}
