using TraceSeal.Query;
using TraceSeal.Storage.Format;
using TraceSeal.Storage.Tests.TestSupport;
using static TraceSeal.Storage.Tests.TestSupport.StoreFixture;

namespace TraceSeal.Storage.Tests.SealedLog;

/// <summary>
/// Every change to a v2 block (a sealed log) or its index is a <see cref="StoreIntegrityException"/> naming the
/// object, with and without the index: frames are bound to their position, the end frame to the log's end, the
/// name to the object id, the header to its tenant, the index to its block.
/// </summary>
public sealed class SealedLogTamperTests : IDisposable
{
    private readonly LogStore _s = new();

    public void Dispose() => _s.Dispose();

    /// <summary>Three frames of different lengths (so that moving one moves the others).</summary>
    private WrittenLog Block(bool index = true, string service = "checkout") => _s.Block("acme",
    [
        [StoreRecord.Traces(Request(service, [1]))],
        [StoreRecord.Traces(Request(service, [2, 3]))],
        [StoreRecord.Traces(Request(service, [4, 5, 6]))],
    ], index);

    private StoreIntegrityException ReadFails(string tenant = "acme") =>
        Assert.Throws<StoreIntegrityException>(() => _s.Reader().ReadRecords(tenant));

    /// <summary>(offset, length with prefix) of every frame, the end frame last.</summary>
    private static List<(int Offset, int Length)> Frames(WrittenLog block)
    {
        var index = LogStore.IndexOf(block);
        var frames = index.Records.GroupBy(r => r.FrameIndex).Select(g => ((int)g.First().Offset, 4 + g.First().FrameLength)).ToList();
        frames.Add(((int)block.Length - 20, 20));
        return frames;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Swapped_frames_are_chunk_auth_failed(bool withIndex)
    {
        var block = Block(withIndex);
        var bytes = File.ReadAllBytes(block.Path);
        var f = Frames(block);
        byte[] swapped = [.. bytes[..f[0].Offset], .. bytes.AsSpan(f[1].Offset, f[1].Length), .. bytes.AsSpan(f[0].Offset, f[0].Length), .. bytes[f[2].Offset..]];
        File.WriteAllBytes(block.Path, swapped);

        var e = ReadFails();

        Assert.Equal((block.Path, "chunk_auth_failed"), (e.ObjectPath, e.Code));
    }

    [Fact]
    public void A_frame_removed_is_chunk_auth_failed_without_the_index_and_index_mismatch_with_it()
    {
        var block = Block(index: false);
        var bytes = File.ReadAllBytes(block.Path);
        var f = Frames(block);
        File.WriteAllBytes(block.Path, [.. bytes[..f[1].Offset], .. bytes[f[2].Offset..]]);

        var e = ReadFails();
        Assert.Equal((block.Path, "chunk_auth_failed"), (e.ObjectPath, e.Code));

        File.WriteAllBytes(block.IndexPath, Seal(block));
        e = ReadFails();
        Assert.Equal((block.Path, "index_mismatch"), (e.ObjectPath, e.Code));
    }

    [Fact]
    public void The_last_data_frame_removed_is_chunk_auth_failed_as_the_end_frame_is_then_at_the_wrong_position()
    {
        var block = Block(index: false);
        var bytes = File.ReadAllBytes(block.Path);
        var f = Frames(block);
        File.WriteAllBytes(block.Path, [.. bytes[..f[2].Offset], .. bytes[f[3].Offset..]]);

        var e = ReadFails();

        Assert.Equal((block.Path, "chunk_auth_failed"), (e.ObjectPath, e.Code));
    }

    [Fact]
    public void A_block_whose_end_frame_was_cut_is_truncated_without_the_index_and_index_mismatch_with_it()
    {
        var block = Block(index: false);
        var bytes = File.ReadAllBytes(block.Path);
        File.WriteAllBytes(block.Path, bytes[..^20]);

        var e = ReadFails();
        Assert.Equal((block.Path, "truncated"), (e.ObjectPath, e.Code));

        File.WriteAllBytes(block.IndexPath, Seal(block));
        e = Assert.Throws<StoreIntegrityException>(() => _s.Reader().Query(new TraceQuery { TraceId = TraceId(1) }));
        Assert.Equal((block.Path, "index_mismatch"), (e.ObjectPath, e.Code));
    }

    [Fact]
    public void Bytes_after_the_end_frame_are_trailing_data_without_the_index_and_index_mismatch_with_it()
    {
        var block = Block(index: false);
        File.AppendAllBytes(block.Path, [0, 0, 0, 16, .. new byte[16]]);

        var e = ReadFails();
        Assert.Equal((block.Path, "trailing_data"), (e.ObjectPath, e.Code));

        File.WriteAllBytes(block.IndexPath, Seal(block));
        e = Assert.Throws<StoreIntegrityException>(() => _s.Reader().Query(new TraceQuery { TraceId = TraceId(1) }));
        Assert.Equal((block.Path, "index_mismatch"), (e.ObjectPath, e.Code));
    }

    [Fact]
    public void A_renamed_block_is_name_mismatch_with_and_without_its_index()
    {
        var block = Block();
        var renamed = Path.Combine(Path.GetDirectoryName(block.Path)!, "0123456789abcdef.block");
        File.Move(block.Path, renamed);
        File.Move(block.IndexPath, Path.ChangeExtension(renamed, ".index"));

        var e = ReadFails();
        Assert.Equal((renamed, "name_mismatch"), (e.ObjectPath, e.Code));

        File.Delete(Path.ChangeExtension(renamed, ".index"));
        e = ReadFails();
        Assert.Equal((renamed, "name_mismatch"), (e.ObjectPath, e.Code));
    }

    [Fact]
    public void The_index_of_another_block_is_index_mismatch()
    {
        var a = Block();
        var b = Block(service: "cart");
        File.Copy(b.IndexPath, a.IndexPath, overwrite: true);

        var e = Assert.Throws<StoreIntegrityException>(() => _s.Reader().Query(new TraceQuery { TraceId = TraceId(1) }));

        Assert.Equal((a.Path, "index_mismatch"), (e.ObjectPath, e.Code));
        Assert.Contains($"(its index {Path.GetFileName(a.IndexPath)} describes another object)", e.Message);
    }

    [Fact]
    public void An_index_whose_records_lie_about_their_frames_is_index_mismatch()
    {
        var block = Block();
        var index = LogStore.IndexOf(block);
        var records = index.Records.ToArray();
        records[1] = records[1] with { OffsetInFrame = 3 };
        File.WriteAllBytes(block.IndexPath, Seal(block, new BlockIndex
        {
            Version = index.Version, BlockObjectId = index.BlockObjectId, BlockSealedLength = index.BlockSealedLength,
            BlockPlainLength = index.BlockPlainLength, MinStart = index.MinStart, MaxEnd = index.MaxEnd, Segments = [], Records = records,
            Services = index.Services, Names = index.Names, Traces = index.Traces,
        }));

        Assert.Equal("index_mismatch", ReadFails().Code);
        Assert.Equal("index_mismatch", Assert.Throws<StoreIntegrityException>(() => _s.Reader().Query(new TraceQuery { TraceId = TraceId(2) })).Code);
    }

    [Fact]
    public void A_block_moved_to_another_tenant_directory_is_tenant_mismatch_with_and_without_its_index()
    {
        var block = Block();
        var moved = block.Path.Replace($"{Path.DirectorySeparatorChar}acme{Path.DirectorySeparatorChar}", $"{Path.DirectorySeparatorChar}globex{Path.DirectorySeparatorChar}", StringComparison.Ordinal);
        Directory.CreateDirectory(Path.GetDirectoryName(moved)!);
        File.Move(block.Path, moved);
        File.Move(block.IndexPath, Path.ChangeExtension(moved, ".index"));

        var e = ReadFails("globex");
        Assert.Equal((Path.ChangeExtension(moved, ".index"), "tenant_mismatch"), (e.ObjectPath, e.Code)); // the index is read first

        File.Delete(Path.ChangeExtension(moved, ".index"));
        e = ReadFails("globex");
        Assert.Equal((moved, "tenant_mismatch"), (e.ObjectPath, e.Code));
    }

    [Fact]
    public void A_flipped_byte_in_a_live_segment_is_reported_with_the_segment_and_the_frame()
    {
        var live = _s.Live("acme", 1_767_322_801, [[StoreRecord.Traces(Request("checkout", [1]))], [StoreRecord.Traces(Request("checkout", [2]))]]);
        long frame1 = live.Records[1].Place.Offset;
        var bytes = File.ReadAllBytes(live.Path);
        bytes[frame1 + 30] ^= 0x01;
        File.WriteAllBytes(live.Path, bytes);

        var e = ReadFails();

        Assert.Equal((live.Path, "chunk_auth_failed"), (e.ObjectPath, e.Code));
        Assert.StartsWith($"{live.Path} frame 1 at offset {frame1}: integrity error (chunk_auth_failed)", e.Message);
    }

    [Fact]
    public void A_live_segment_under_another_name_is_name_mismatch()
    {
        var live = _s.Live("acme", 1_767_322_801, [[StoreRecord.Traces(Request("checkout", [1]))]]);
        var renamed = Path.Combine(Path.GetDirectoryName(live.Path)!, StoreFormat.LogSegmentFileName(1_767_322_801, "0123456789abcdef0123456789abcdef"));
        File.Move(live.Path, renamed);

        var e = ReadFails();

        Assert.Equal((renamed, "name_mismatch"), (e.ObjectPath, e.Code));
    }

    private byte[] Seal(WrittenLog block, BlockIndex? index = null) =>
        TraceSeal.Sealing.Sealer.Seal((index ?? LogStore.IndexOf(block)).Encode(), TraceSeal.Sealing.ObjectKind.Index, "acme", _s.Recipients);
}
