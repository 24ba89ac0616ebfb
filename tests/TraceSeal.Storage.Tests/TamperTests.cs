using TraceSeal.Query;
using TraceSeal.Storage.Log;
using TraceSeal.Storage.Tests.TestSupport;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;

namespace TraceSeal.Storage.Tests;

/// <summary>Every change to a stored object is an integrity error that names the object; nothing is skipped silently.</summary>
public sealed class TamperTests : IDisposable
{
    private readonly StoreFixture _f = new();

    public void Dispose() => _f.Dispose();

    private async Task<(string BlockA, string BlockB)> TwoBlocksAsync()
    {
        await using var exporter = await _f.StartAsync();
        await exporter.ExportAsync(Batch(Request("checkout", [1])), default);
        await exporter.CutBlocksAsync();
        await exporter.ExportAsync(Batch(Request("checkout", [2])), default);
        await exporter.StopAsync(default);
        var blocks = _f.Files("*.block").ToList();
        Assert.Equal(2, blocks.Count);
        return (blocks[0], blocks[1]);
    }

    private StoreIntegrityException QueryFails(TraceQuery? query = null, string? identity = null) =>
        Assert.Throws<StoreIntegrityException>(() => _f.Reader(identity).Query(query ?? new TraceQuery()));

    [Fact]
    public async Task A_flipped_byte_in_a_block_is_reported_with_the_block_path()
    {
        var (a, _) = await TwoBlocksAsync();
        var bytes = File.ReadAllBytes(a);
        var frame = LogScan.Scan(bytes).Frames[0];
        bytes[frame.Offset + LogScan.PrefixLength + 1] ^= 0x01; // frame 0's ciphertext, not a length prefix (docs/format.md §14.6)
        File.WriteAllBytes(a, bytes);

        var e = QueryFails();
        Assert.Equal(a, e.ObjectPath);
        Assert.Equal("chunk_auth_failed", e.Code);
        Assert.StartsWith($"{a} frame 0 at offset {frame.Offset}: integrity error (chunk_auth_failed)", e.Message);
    }

    [Fact]
    public async Task A_flipped_byte_in_an_index_is_reported_with_the_index_path()
    {
        var (a, _) = await TwoBlocksAsync();
        var index = Path.ChangeExtension(a, ".index");
        var bytes = File.ReadAllBytes(index);
        bytes[^5] ^= 0x80;
        File.WriteAllBytes(index, bytes);

        // Every query that needs the index fails on it: a search that must open every block, and the lookup of the
        // trace in that block. The lookup of the other block's trace is answered, whole: the tampered block's sealed
        // summary rules it out, so its index is never opened (docs/format.md §15).
        var e = QueryFails(new TraceQuery());
        Assert.Equal(index, e.ObjectPath);
        Assert.Equal("chunk_auth_failed", e.Code);

        int failed = 0;
        foreach (int trace in new[] { 1, 2 })
        {
            try
            {
                Assert.Equal(1, _f.Reader().Query(new TraceQuery { TraceId = TraceId(trace) }).SpanCount);
            }
            catch (StoreIntegrityException lookup)
            {
                Assert.Equal(index, lookup.ObjectPath);
                Assert.Equal("chunk_auth_failed", lookup.Code);
                failed++;
            }
        }

        Assert.Equal(1, failed);
    }

    [Fact]
    public async Task A_truncated_block_is_reported()
    {
        var (a, _) = await TwoBlocksAsync();
        using (var s = new FileStream(a, FileMode.Open, FileAccess.Write))
        {
            s.SetLength(s.Length - 1);
        }

        var e = QueryFails(new TraceQuery { TraceId = TraceId(2) });
        Assert.Equal(a, e.ObjectPath);
        Assert.Equal("index_mismatch", e.Code);

        File.Delete(Path.ChangeExtension(a, ".index")); // without its index the block itself fails: its end frame is cut
        e = QueryFails();
        Assert.Equal(a, e.ObjectPath);
        Assert.Equal("truncated", e.Code);
    }

    [Fact]
    public async Task Bytes_appended_to_a_block_are_reported()
    {
        var (a, _) = await TwoBlocksAsync();
        File.AppendAllText(a, "x");
        File.Delete(Path.ChangeExtension(a, ".index"));

        var e = QueryFails();
        Assert.Equal(a, e.ObjectPath);
        Assert.Equal("trailing_data", e.Code); // a byte after the end frame
    }

    [Fact]
    public async Task Two_swapped_block_files_are_reported_with_and_without_their_indexes()
    {
        var (a, b) = await TwoBlocksAsync();
        var tmp = a + ".swap";
        File.Move(a, tmp);
        File.Move(b, a);
        File.Move(tmp, b);

        var e = QueryFails();
        Assert.Equal("index_mismatch", e.Code);
        Assert.Contains(e.ObjectPath, new[] { a, b });

        File.Delete(Path.ChangeExtension(a, ".index"));
        File.Delete(Path.ChangeExtension(b, ".index"));
        e = QueryFails();
        Assert.Equal("name_mismatch", e.Code);
        Assert.Equal(a, e.ObjectPath);
    }

    [Fact]
    public async Task A_block_moved_to_another_tenant_directory_is_reported()
    {
        var (a, _) = await TwoBlocksAsync();
        var rel = Path.GetRelativePath(Path.Combine(_f.Store, "blocks", "acme"), a);
        var moved = Path.Combine(_f.Store, "blocks", "globex", rel);
        Directory.CreateDirectory(Path.GetDirectoryName(moved)!);
        File.Move(a, moved);
        File.Move(Path.ChangeExtension(a, ".index"), Path.ChangeExtension(moved, ".index"));

        var e = QueryFails(new TraceQuery { Tenant = "globex" });
        Assert.Equal(Path.ChangeExtension(moved, ".index"), e.ObjectPath);
        Assert.Equal("tenant_mismatch", e.Code);
    }

    [Fact]
    public async Task An_index_whose_block_was_deleted_is_reported()
    {
        var (a, _) = await TwoBlocksAsync();
        File.Delete(a);

        var e = QueryFails();
        Assert.Equal(Path.ChangeExtension(a, ".index"), e.ObjectPath);
        Assert.Equal("block_missing", e.Code);
    }

    [Fact]
    public async Task A_flipped_byte_in_a_live_wal_frame_is_reported_with_the_segment_and_frame()
    {
        await using var exporter = await _f.StartAsync();
        await exporter.ExportAsync(Batch(Request("checkout", [1])), default);
        await exporter.ExportAsync(Batch(Request("checkout", [2])), default);
        await exporter.CrashAsync();
        var segment = Assert.Single(_f.Files("*.wal"));
        var bytes = File.ReadAllBytes(segment);
        var frame = LogScan.Scan(bytes).Frames[0]; // right after the segment's header
        bytes[frame.Offset + LogScan.PrefixLength + 1] ^= 0x01;
        File.WriteAllBytes(segment, bytes);

        var e = QueryFails();
        Assert.Equal(segment, e.ObjectPath);
        Assert.StartsWith($"{segment} frame 0 at offset {frame.Offset}: integrity error (chunk_auth_failed)", e.Message);
    }

    [Fact]
    public async Task Reordered_wal_frames_are_reported()
    {
        await using var exporter = await _f.StartAsync();
        await exporter.ExportAsync(Batch(Request("checkout", [1])), default);
        await exporter.ExportAsync(Batch(Request("checkout", [2])), default);
        await exporter.CrashAsync();
        var segment = Assert.Single(_f.Files("*.wal"));
        var bytes = File.ReadAllBytes(segment);
        var scan = LogScan.Scan(bytes);
        var (first, second) = ((int)scan.Frames[0].Offset, (int)scan.Frames[1].Offset);
        File.WriteAllBytes(segment, [.. bytes[..first], .. bytes[second..], .. bytes[first..second]]); // header, frame 1, frame 0

        var e = QueryFails();
        Assert.Equal(segment, e.ObjectPath);
        Assert.StartsWith($"{segment} frame 0 at offset {first}: integrity error (chunk_auth_failed)", e.Message); // sealed as frame 1
    }
}
