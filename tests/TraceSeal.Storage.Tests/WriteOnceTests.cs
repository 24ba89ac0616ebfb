using System.Diagnostics;
using Google.Protobuf;
using TraceSeal.Collector.Pipeline;
using TraceSeal.Query;
using TraceSeal.Sealing;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Log;
using TraceSeal.Storage.Tests.TestSupport;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;

namespace TraceSeal.Storage.Tests;

/// <summary>
/// Write once, one key agreement per segment (issue 10, Build 3 and 4): the WAL segment's bytes are the block's
/// bytes — the cut adds the 20-byte end frame and renames the file; nothing is re-sealed or copied.
/// </summary>
public sealed class WriteOnceTests : IDisposable
{
    private const int Requests = 12;
    private readonly StoreFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task A_block_is_its_wal_segment_byte_for_byte_plus_the_end_frame()
    {
        await using var exporter = await _f.StartAsync();
        var payloads = new List<byte[]>();
        for (int i = 1; i <= Requests; i++)
        {
            var payload = Request("checkout", [i], children: true).ToByteArray();
            payloads.Add(payload);
            Assert.Equal(SinkResult.Ok, await exporter.ExportIndexedAsync(payload)); // sequential: one frame each
        }

        var segment = Assert.Single(_f.Files("*" + StoreFormat.WalExtension));
        var wal = File.ReadAllBytes(segment);
        var walInode = Inode(segment);
        // With direct I/O the live file ends with zero fill up to its next 4 KiB boundary; closing cuts it.
        long good = LogScan.Scan(wal).GoodLength;
        Assert.True(wal.Length - good < LogSegmentWriter.DirectAlign && wal.AsSpan((int)good).IndexOfAnyExcept((byte)0) < 0, "only zero fill follows the last frame");
        wal = wal[..(int)good];

        await exporter.CutBlocksAsync();

        Assert.Empty(_f.Files("*" + StoreFormat.WalExtension));
        var blockPath = Assert.Single(_f.Files("*" + StoreFormat.BlockExtension));
        var block = File.ReadAllBytes(blockPath);
        Assert.Equal(wal.Length + SealedLogWriter.EndFrameLength, block.Length);
        Assert.True(block.AsSpan(0, wal.Length).SequenceEqual(wal), "the block does not start with the segment's bytes");
        Assert.Equal(walInode, Inode(blockPath)); // renamed, not copied
    }

    [Fact]
    public async Task A_block_is_one_v2_header_followed_by_its_frames_and_the_end_frame()
    {
        await using var exporter = await _f.StartAsync();
        var payloads = new List<byte[]>();
        for (int i = 1; i <= Requests; i++)
        {
            var payload = Request("checkout", [i]).ToByteArray();
            payloads.Add(payload);
            Assert.Equal(SinkResult.Ok, await exporter.ExportIndexedAsync(payload));
        }

        await exporter.CutBlocksAsync();
        var blockPath = Assert.Single(_f.Files("*" + StoreFormat.BlockExtension));
        var block = File.ReadAllBytes(blockPath);

        var header = Sealer.ReadHeader(block);
        Assert.Equal(2, header.Version);
        Assert.Single(header.RecipientKeyIds);
        var scan = LogScan.Scan(block);
        Assert.Equal(LogTail.Complete, scan.Tail);
        Assert.Equal(header.HeaderLength, scan.HeaderLength);
        Assert.Equal(Requests, scan.DataFrames);
        Assert.Equal(Requests + 1, scan.Frames.Count);
        Assert.True(scan.Frames[^1].IsEnd);
        long expected = header.HeaderLength;
        foreach (var frame in scan.Frames)
        {
            Assert.Equal(expected, frame.Offset); // back to back after the one header: no per-frame header
            expected = frame.End;
        }

        Assert.Equal(block.Length, expected);

        // One key agreement: the header's magic occurs once (v1 sealed every frame as an object with its own header).
        Assert.Equal(1, Occurrences(block, "TSEAL"u8));

        // Its records are the requests, as they were acknowledged, in order.
        var records = LogReader.ReadAll(block, [KeyFiles.LoadIdentity(_f.Identity)], LogPlace.Block, out _);
        Assert.Equal(payloads.Select(Convert.ToHexString), records.Select(r => Convert.ToHexString(r.Payload.Span)));

        // The index next to it is one small sealed object; the reader finds every trace through it.
        var index = File.ReadAllBytes(Path.ChangeExtension(blockPath, StoreFormat.IndexExtension));
        Assert.Equal(ObjectKind.Index, Sealer.ReadHeader(index).ObjectKind);
        await exporter.StopAsync(default);
        Assert.Equal(Requests, _f.Reader().Query(new TraceQuery { Limit = 0 }).TraceCount);
        var one = _f.Reader().Query(new TraceQuery { TraceId = TraceId(7) });
        Assert.Equal(Convert.ToHexString(TraceId(7)), Convert.ToHexString(Assert.Single(one.Request.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans)).TraceId.Span));
    }

    private static int Occurrences(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> needle)
    {
        int count = 0;
        int at;
        while ((at = haystack.IndexOf(needle)) >= 0)
        {
            count++;
            haystack = haystack[(at + needle.Length)..];
        }

        return count;
    }

    private static string Inode(string path)
    {
        var start = new ProcessStartInfo("stat") { RedirectStandardOutput = true, ArgumentList = { "-c", "%d:%i", path } };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return output;
    }
}
