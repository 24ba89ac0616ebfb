using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using TraceSeal.Collector.Storage.Wal;
using TraceSeal.Sealing;
using TraceSeal.Storage.Log;

namespace TraceSeal.Storage.Tests.SealedLog;

/// <summary>
/// The keyless walk in its v1 mode (<see cref="LogScan.ScanV1(ReadOnlySpan{byte}, ObjectKind?, string?)"/>, docs/format.md
/// §12.3) on hostile segments: what lengths cannot follow is a torn tail (`partial_write`), a last frame whose header
/// fails is torn with that header's code, and a failing frame with a whole frame after it is corruption — which
/// recovery never cuts. The file walk and the in-memory walk agree on every input.
/// </summary>
public sealed class V1FrameScanTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ts-v1scan-").FullName;
    private readonly byte[] _good;
    private readonly byte[] _other;

    public V1FrameScanTests()
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        IRecipient recipient = KeyFiles.ParseRecipient(key.ExportSubjectPublicKeyInfoPem());
        _good = Frame(Sealer.Seal("frame"u8, ObjectKind.WalSegment, "acme", [recipient]));
        _other = Frame(Sealer.Seal("frame"u8, ObjectKind.WalSegment, "globex", [recipient]));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] Frame(byte[] sealedObject)
    {
        byte[] frame = new byte[LogScan.PrefixLength + sealedObject.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)sealedObject.Length);
        sealedObject.CopyTo(frame, LogScan.PrefixLength);
        return frame;
    }

    /// <summary>Both walks, asserted equal; the in-memory one returned.</summary>
    private LogScan Scan(byte[] segment, string? tenant = null)
    {
        var path = Path.Combine(_dir, "scan.wal");
        File.WriteAllBytes(path, segment);
        using var file = File.OpenHandle(path);
        var fromFile = LogScan.ScanV1(file, ObjectKind.WalSegment, tenant);
        var inMemory = LogScan.ScanV1(segment, ObjectKind.WalSegment, tenant);
        Assert.Equal((inMemory.Tail, inMemory.Code, inMemory.GoodLength, inMemory.CorruptAt), (fromFile.Tail, fromFile.Code, fromFile.GoodLength, fromFile.CorruptAt));
        Assert.Equal(inMemory.Frames, fromFile.Frames);
        return inMemory;
    }

    [Fact]
    public void Whole_frames_are_an_open_segment_and_an_empty_file_holds_none()
    {
        var scan = Scan([.. _good, .. _good]);

        Assert.Equal((LogTail.Open, null, (long)(2 * _good.Length), -1L), (scan.Tail, scan.Code, scan.GoodLength, scan.CorruptAt));
        Assert.Equal([new LogFrame(0, 0, _good.Length - 4), new LogFrame(1, _good.Length, _good.Length - 4)], scan.Frames);
        Assert.Equal((LogTail.Open, 0L, 0), (Scan([]).Tail, Scan([]).GoodLength, Scan([]).Frames.Count));
    }

    [Theory]
    [InlineData(new byte[] { 0, 0 })] // a length prefix cut short
    [InlineData(new byte[] { 0, 0, 0, 0 })] // length 0
    [InlineData(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })] // zeros, as a crash can leave after the last write
    [InlineData(new byte[] { 0, 0, 1, 0, 0x54, 0x53 })] // a length past end of file
    [InlineData(new byte[] { 0xff, 0xff, 0xff, 0xff, 1, 2, 3 })] // a length over 256 MiB
    public void What_lengths_cannot_follow_after_a_good_frame_is_a_torn_tail(byte[] tail)
    {
        var scan = Scan([.. _good, .. tail]);

        Assert.Equal((LogTail.Torn, "partial_write", (long)_good.Length, 1), (scan.Tail, scan.Code, scan.GoodLength, scan.Frames.Count));
        Assert.Null(scan.V1TornCode(live: true)); // a live writer's frame in progress: never acknowledged
        Assert.Equal("truncated_segment", scan.V1TornCode(live: false));
    }

    [Fact]
    public void Garbage_after_a_good_frame_that_its_length_covers_is_torn_with_the_headers_code()
    {
        var scan = Scan([.. _good, 0, 0, 0, 5, .. "hello"u8]);

        Assert.Equal((LogTail.Torn, "bad_magic", (long)_good.Length, 1), (scan.Tail, scan.Code, scan.GoodLength, scan.Frames.Count));
        Assert.Equal("bad_magic", scan.V1TornCode(live: false));
    }

    [Fact]
    public void A_valid_frame_after_a_failing_one_is_corruption_and_every_whole_frame_is_listed()
    {
        byte[] segment = [.. _good, 0, 0, 0, 5, .. "hello"u8, .. _good];

        var scan = Scan(segment);

        Assert.Equal((LogTail.Corrupt, "bad_magic", (long)_good.Length, (long)segment.Length, 3), (scan.Tail, scan.Code, scan.CorruptAt, scan.GoodLength, scan.Frames.Count));
        Assert.Null(scan.V1TornCode(live: false)); // not torn: readers open the frames and report the bad one
    }

    [Fact]
    public void A_zero_length_is_as_far_as_lengths_go_even_with_a_valid_frame_after_it()
    {
        // A damaged prefix and a torn tail look alike to a keyless walk (as in a sealed log, §14.3).
        var scan = Scan([.. _good, 0, 0, 0, 0, .. _good]);

        Assert.Equal((LogTail.Torn, "partial_write", (long)_good.Length, 1), (scan.Tail, scan.Code, scan.GoodLength, scan.Frames.Count));
    }

    [Fact]
    public void Another_tenants_frame_is_torn_at_the_end_and_corrupt_in_the_middle_when_a_tenant_is_given()
    {
        Assert.Equal((LogTail.Torn, "tenant_mismatch"), (Scan([.. _good, .. _other], "acme").Tail, Scan([.. _good, .. _other], "acme").Code));
        Assert.Equal((LogTail.Corrupt, "tenant_mismatch"), (Scan([.. _other, .. _good], "acme").Tail, Scan([.. _other, .. _good], "acme").Code));
        Assert.Equal(LogTail.Open, Scan([.. _other, .. _good]).Tail); // readers check the tenant when they open each frame
    }

    [Fact]
    public void Recovery_cuts_a_torn_tail_and_keeps_a_corrupt_segment_as_it_is()
    {
        var torn = Path.Combine(_dir, "torn.wal");
        File.WriteAllBytes(torn, [.. _good, .. _good, 0, 0, 1]);
        var corrupt = Path.Combine(_dir, "corrupt.wal");
        byte[] corruptBytes = [.. _good, 0, 0, 0, 5, .. "hello"u8, .. _good, 0, 0];
        File.WriteAllBytes(corrupt, corruptBytes);
        var empty = Path.Combine(_dir, "empty.wal");
        File.WriteAllBytes(empty, [0, 0, 0, 0, 0, 0]);

        Assert.Equal(2 * _good.Length, WalRecovery.CutTornTail(torn, v1Tenant: "acme", NullLogger.Instance));
        Assert.Equal([.. _good, .. _good], File.ReadAllBytes(torn));
        Assert.Equal(corruptBytes.Length, WalRecovery.CutTornTail(corrupt, v1Tenant: "acme", NullLogger.Instance));
        Assert.Equal(corruptBytes, File.ReadAllBytes(corrupt));
        Assert.Equal(0, WalRecovery.CutTornTail(empty, v1Tenant: "acme", NullLogger.Instance)); // nothing in it was acknowledged
    }
}
