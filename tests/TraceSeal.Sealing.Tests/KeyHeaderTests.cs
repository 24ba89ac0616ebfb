using TraceSeal.Sealing.Recipients;
using static TraceSeal.Sealing.Format.FormatConstants;

namespace TraceSeal.Sealing.Tests;

/// <summary>
/// A sealed log's key header (docs/format.md §14.11): the log's object context and file key wrapped to other recipients
/// (a forwarder's key), so they open the log's frames without a stanza in the log's own header.
/// </summary>
public class KeyHeaderTests
{
    private static readonly EcIdentity Store = TestKeys.Identity("test/store-reader");
    private static readonly EcIdentity Forwarder = TestKeys.Identity("test/forwarder");
    private static readonly byte[][] Frames = [TestKeys.Pattern(7), TestKeys.Pattern(ChunkSize + 3)];

    private static (byte[] Header, byte[] KeyHeader, List<byte[]> SealedFrames) Seal()
    {
        using var writer = SealedLogWriter.Begin(ObjectKind.WalSegment, "acme", [Store.ToRecipient()], [Forwarder.ToRecipient()]);
        var sealedFrames = new List<byte[]>();
        foreach (var frame in Frames)
        {
            var sealedFrame = new byte[SealedLogWriter.SealedFrameLength(frame.Length)];
            writer.SealFrame(frame, sealedFrame);
            sealedFrames.Add(sealedFrame[LogFrameLengthPrefix..]);
        }

        return (writer.Header.ToArray(), writer.KeyHeader!, sealedFrames);
    }

    [Fact]
    public void The_key_header_opens_the_logs_frames_for_its_recipient_only()
    {
        var (header, keyHeader, sealedFrames) = Seal();

        using var reader = SealedLogReader.Open(keyHeader, [Forwarder]);
        Assert.Equal(Sealer.ReadHeader(header).ObjectId, reader.Info.ObjectId);
        Assert.Equal(ObjectKind.WalSegment, reader.Info.ObjectKind);
        Assert.Equal("acme", reader.Info.Tenant);
        for (int i = 0; i < Frames.Length; i++)
        {
            var plain = new byte[sealedFrames[i].Length];
            int n = reader.OpenFrame((uint)i, sealedFrames[i], plain, out bool end);
            Assert.False(end);
            Assert.Equal(Frames[i], plain[..n]);
        }

        // The log's own header names the store's recipient alone: the forwarder's key does not open it, and the
        // store's identity does not open the key header.
        Assert.Throws<NoIdentityMatchException>(() => SealedLogReader.Open(header, [Forwarder]));
        Assert.Throws<NoIdentityMatchException>(() => SealedLogReader.Open(keyHeader, [Store]));
        using var storeReader = SealedLogReader.Open(header, [Store]);
        var again = new byte[sealedFrames[0].Length];
        Assert.Equal(Frames[0], again[..storeReader.OpenFrame(0, sealedFrames[0], again, out _)]);
    }

    [Fact]
    public void A_key_header_of_another_log_opens_none_of_this_logs_frames()
    {
        var (_, _, sealedFrames) = Seal();
        var (_, otherKeyHeader, _) = Seal();

        using var reader = SealedLogReader.Open(otherKeyHeader, [Forwarder]);
        var plain = new byte[sealedFrames[0].Length];
        var e = Assert.Throws<SealedIntegrityException>(() => reader.OpenFrame(0, sealedFrames[0], plain, out _));
        Assert.Equal(SealedIntegrityException.ChunkAuthFailed, e.Code);
    }

    [Fact]
    public void A_tampered_key_header_is_refused()
    {
        var (_, keyHeader, _) = Seal();
        var tampered = keyHeader.ToArray();
        tampered[10] ^= 0x01; // inside the object context (tenant / object id): the MAC no longer matches

        var e = Assert.Throws<SealedIntegrityException>(() => SealedLogReader.Open(tampered, [Forwarder]));
        Assert.Equal(SealedIntegrityException.HeaderMacMismatch, e.Code);
    }
}
