using System.Buffers.Binary;
using TraceSeal.Sealing.Recipients;
using static TraceSeal.Sealing.Format.FormatConstants;
using static TraceSeal.Sealing.SealedIntegrityException;

namespace TraceSeal.Sealing.Tests;

/// <summary>The sealed log (docs/format.md §14): frames bound to their position and their log, the end frame, rewrap.</summary>
public class SealedLogTests
{
    private static readonly EcIdentity Alice = TestKeys.Identity("test/alice");

    private static readonly byte[][] ThreeFrames = [TestKeys.Pattern(3), TestKeys.Pattern(ChunkSize + 100), TestKeys.Pattern(5)];

    private static byte[] SealLog(IReadOnlyList<byte[]> frames, string seed = "log") =>
        VectorGenerator.SealLog(ObjectKind.WalSegment, "acme", [Alice.ToRecipient()], frames, TestKeys.Random(seed), TestKeys.FixedTime);

    /// <summary>The byte ranges of every frame, length prefix included, the end frame last.</summary>
    private static List<Range> FrameRanges(byte[] log)
    {
        var ranges = new List<Range>();
        for (int pos = Sealer.ReadHeader(log).HeaderLength; pos < log.Length;)
        {
            int next = pos + LogFrameLengthPrefix + BinaryPrimitives.ReadInt32BigEndian(log.AsSpan(pos));
            ranges.Add(pos..next);
            pos = next;
        }

        return ranges;
    }

    [Fact]
    public void A_log_opens_frame_by_frame_to_its_plaintexts()
    {
        var log = SealLog(ThreeFrames);

        Assert.Equal(Outcome.Ok, LogOutcome.Of(log, [Alice], LogPlace.Block, ThreeFrames));
        Assert.Equal(ThreeFrames.Length + 1, FrameRanges(log).Count);
    }

    [Fact]
    public void A_data_frame_sealed_at_one_index_opens_at_no_other()
    {
        using var writer = SealedLogWriter.Begin(ObjectKind.WalSegment, "acme", [Alice.ToRecipient()], TestKeys.Random("index"), TestKeys.FixedTime);
        var sealedFrames = new List<byte[]>();
        foreach (var frame in ThreeFrames)
        {
            var sealedFrame = new byte[SealedLogWriter.SealedFrameLength(frame.Length)];
            writer.SealFrame(frame, sealedFrame);
            sealedFrames.Add(sealedFrame[LogFrameLengthPrefix..]);
        }

        var end = new byte[SealedLogWriter.EndFrameLength];
        writer.SealEnd(end);
        sealedFrames.Add(end[LogFrameLengthPrefix..]);

        using var reader = SealedLogReader.Open(writer.Header, [Alice]);
        for (int i = 0; i < sealedFrames.Count; i++)
        {
            for (uint j = 0; j < sealedFrames.Count + 2; j++)
            {
                var plaintext = new byte[sealedFrames[i].Length];
                if (j == i)
                {
                    int length = reader.OpenFrame(j, sealedFrames[i], plaintext, out bool isEnd);
                    Assert.Equal(i == ThreeFrames.Length, isEnd);
                    Assert.Equal(isEnd ? [] : ThreeFrames[i], plaintext[..length]);
                    continue;
                }

                var e = Assert.Throws<SealedIntegrityException>(() => reader.OpenFrame(j, sealedFrames[i], plaintext, out _));
                Assert.True(e.Code == ChunkAuthFailed, $"frame {i} opened at {j}: {e.Code}");
                Assert.All(plaintext, b => Assert.Equal(0, b)); // nothing released
            }
        }
    }

    [Fact]
    public void Reordered_dropped_or_duplicated_frames_fail_to_authenticate()
    {
        var log = SealLog(ThreeFrames);
        var f = FrameRanges(log);
        var header = log[..f[0].Start];

        byte[] reordered = [.. header, .. log[f[0]], .. log[f[2]], .. log[f[1]], .. log[f[3]]];
        byte[] droppedFromTheMiddle = [.. header, .. log[f[0]], .. log[f[2]], .. log[f[3]]];
        byte[] lastDataFrameDropped = [.. header, .. log[f[0]], .. log[f[1]], .. log[f[3]]];
        byte[] duplicated = [.. header, .. log[f[0]], .. log[f[1]], .. log[f[1]], .. log[f[2]], .. log[f[3]]];
        byte[] endFrameMovedForward = [.. header, .. log[f[0]], .. log[f[3]]];

        Assert.Equal(ChunkAuthFailed, LogOutcome.Of(reordered, [Alice]));
        Assert.Equal(ChunkAuthFailed, LogOutcome.Of(droppedFromTheMiddle, [Alice]));
        Assert.Equal(ChunkAuthFailed, LogOutcome.Of(lastDataFrameDropped, [Alice]));
        Assert.Equal(ChunkAuthFailed, LogOutcome.Of(duplicated, [Alice]));
        Assert.Equal(ChunkAuthFailed, LogOutcome.Of(endFrameMovedForward, [Alice]));
    }

    [Fact]
    public void Frames_and_headers_swapped_between_two_logs_fail_to_authenticate()
    {
        var a = SealLog(ThreeFrames, seed: "a");
        var b = SealLog(ThreeFrames, seed: "b");
        var fa = FrameRanges(a);
        var fb = FrameRanges(b);

        byte[] frameFromB = [.. a[..fa[1].Start], .. b[fb[1]], .. a[fa[2].Start..]];
        byte[] endFrameFromB = [.. a[..fa[3].Start], .. b[fb[3]]];
        byte[] headerOfA = [.. a[..fa[0].Start], .. b[fb[0].Start..]];

        Assert.Equal(ChunkAuthFailed, LogOutcome.Of(frameFromB, [Alice]));
        Assert.Equal(ChunkAuthFailed, LogOutcome.Of(endFrameFromB, [Alice]));
        Assert.Equal(ChunkAuthFailed, LogOutcome.Of(headerOfA, [Alice]));
    }

    [Fact]
    public void The_end_frame_takes_the_place_of_a_frame_whose_write_failed()
    {
        using var writer = SealedLogWriter.Begin(ObjectKind.WalSegment, "acme", [Alice.ToRecipient()], TestKeys.Random("failed"), TestKeys.FixedTime);
        var frame0 = new byte[SealedLogWriter.SealedFrameLength(3)];
        writer.SealFrame(ThreeFrames[0], frame0);
        var failed = new byte[SealedLogWriter.SealedFrameLength(5)];
        writer.SealFrame(ThreeFrames[2], failed); // say its write failed: its bytes may be on disk, torn
        var end = new byte[SealedLogWriter.EndFrameLength];

        Assert.Equal(SealedLogWriter.EndFrameLength, writer.SealEndInPlaceOfLastFrame(end));

        // The end frame is sealed at index 1 (flag 0x03: no nonce of the failed frame is reused) ...
        Assert.Equal(1u, writer.FrameCount);
        Assert.True(writer.Ended);
        byte[] log = [.. writer.Header, .. frame0, .. end];
        Assert.Equal(Outcome.Ok, LogOutcome.Of(log, [Alice], LogPlace.Block, [ThreeFrames[0]]));
        using (var reader = SealedLogReader.Open(log, [Alice]))
        {
            Assert.Equal(0, reader.OpenFrame(1, end.AsSpan(LogFrameLengthPrefix), new byte[TagLength], out bool isEnd));
            Assert.True(isEnd);
        }

        // ... so the writer must cut the failed frame: left in front of it, the end frame is out of place.
        byte[] failedFrameKept = [.. writer.Header, .. frame0, .. failed, .. end];
        Assert.Equal(ChunkAuthFailed, LogOutcome.Of(failedFrameKept, [Alice]));

        // A log with an end frame takes no more frames.
        Assert.Throws<ObjectDisposedException>(() => writer.SealFrame([1], new byte[SealedLogWriter.SealedFrameLength(1)]));
        Assert.Throws<ObjectDisposedException>(() => writer.SealEnd(end));
    }

    [Fact]
    public void Without_any_frame_there_is_no_failed_frame_to_replace()
    {
        using var writer = SealedLogWriter.Begin(ObjectKind.WalSegment, "acme", [Alice.ToRecipient()]);

        Assert.Throws<InvalidOperationException>(() => writer.SealEndInPlaceOfLastFrame(new byte[SealedLogWriter.EndFrameLength]));
        Assert.Throws<ArgumentException>(() => writer.SealFrame([], new byte[SealedLogWriter.EndFrameLength]));
        Assert.Throws<ArgumentOutOfRangeException>(() => SealedLogWriter.Begin(ObjectKind.Block, "acme", [Alice.ToRecipient()]));
    }

    [Fact]
    public void Chunk_positions_inside_a_frame_come_from_its_length()
    {
        using var writer = SealedLogWriter.Begin(ObjectKind.WalSegment, "acme", [Alice.ToRecipient()], TestKeys.Random("chunks"), TestKeys.FixedTime);
        var twoChunks = new byte[SealedLogWriter.SealedFrameLength(ChunkSize + 1)];
        writer.SealFrame(TestKeys.Pattern(ChunkSize + 1), twoChunks);
        var oneFullChunk = new byte[SealedLogWriter.SealedFrameLength(ChunkSize)];
        writer.SealFrame(TestKeys.Pattern(ChunkSize), oneFullChunk);
        using var reader = SealedLogReader.Open(writer.Header, [Alice]);
        var plaintext = new byte[2 * EncryptedChunkSize];

        string Code(uint index, ReadOnlySpan<byte> sealedFrame)
        {
            var copy = sealedFrame.ToArray();
            return Assert.Throws<SealedIntegrityException>(() => reader.OpenFrame(index, copy, plaintext, out _)).Code;
        }

        Assert.Equal(EncryptedChunkSize + 1 + TagLength, twoChunks.Length - LogFrameLengthPrefix);
        Assert.Equal(EncryptedChunkSize, oneFullChunk.Length - LogFrameLengthPrefix);

        // Cut after its first chunk: last by position, but sealed as "more chunks follow".
        Assert.Equal(Truncated, Code(0, twoChunks.AsSpan(LogFrameLengthPrefix, EncryptedChunkSize)));

        // A last chunk must hold at least one byte: 1..16 bytes after full chunks cannot be one.
        Assert.Equal(Truncated, Code(0, twoChunks.AsSpan(LogFrameLengthPrefix, EncryptedChunkSize + TagLength)));

        // Bytes after a full-size last chunk: the chunk is non-last by position but sealed as the frame's last.
        Assert.Equal(TrailingData, Code(1, [.. oneFullChunk.AsSpan(LogFrameLengthPrefix), .. new byte[TagLength + 1]]));

        // Fewer than 16 bytes are no frame; 16 bytes are the end frame only.
        Assert.Equal(Truncated, Code(0, new byte[TagLength - 1]));
        Assert.Equal(ChunkAuthFailed, Code(0, twoChunks.AsSpan(LogFrameLengthPrefix, TagLength)));
    }

    [Fact]
    public void Every_single_byte_flip_of_a_small_log_is_detected()
    {
        byte[][] frames = [TestKeys.Pattern(3), TestKeys.Pattern(5)];
        var log = SealLog(frames);
        var f = FrameRanges(log);
        int headerLength = f[0].Start.Value;
        int keyIdStart = FixedPrefixLength + 4 + ObjectIdLength + CreatedLength + PayloadSaltLength + 2;

        for (int i = 0; i < log.Length; i++)
        {
            var tampered = (byte[])log.Clone();
            tampered[i] ^= 0x01;

            var outcome = LogOutcome.Of(tampered, [Alice]);

            bool inPrefix = f.Any(r => i >= r.Start.Value && i < r.Start.Value + LogFrameLengthPrefix);
            string expected = i switch
            {
                < MagicLength => BadMagic,
                MagicLength => UnsupportedVersion,
                _ when i >= keyIdStart && i < keyIdStart + KeyIdLength => Outcome.NoIdentityMatch,
                _ when i >= headerLength && !inPrefix => ChunkAuthFailed,
                _ => outcome, // header fields and length prefixes: some integrity failure, asserted below
            };
            Assert.True(outcome == expected, $"byte {i}: {outcome}, expected {expected}");
            Assert.NotEqual(Outcome.Ok, outcome);
        }
    }

    [Fact]
    public void Cut_anywhere_a_block_is_truncated_and_a_live_segment_shows_its_whole_frames()
    {
        var frames = ThreeFrames;
        var log = SealLog(frames);
        var f = FrameRanges(log);

        for (int cut = 0; cut < log.Length; cut += cut < 300 ? 1 : 997)
        {
            var prefix = log[..cut];
            int whole = f.Take(frames.Length).Count(r => r.End.Value <= cut);

            Assert.Equal(Truncated, LogOutcome.Of(prefix, [Alice], LogPlace.Block));
            Assert.Equal(Outcome.Ok, LogOutcome.Of(prefix, [Alice], LogPlace.Live, frames[..whole]));
        }

        foreach (var r in f)
        {
            Assert.Equal(Truncated, LogOutcome.Of(log[..r.Start], [Alice], LogPlace.Block));
            Assert.Equal(Truncated, LogOutcome.Of(log[..(r.End.Value - 1)], [Alice], LogPlace.Block));
        }
    }

    [Fact]
    public void A_sealed_object_is_not_a_log_and_a_log_is_not_a_sealed_object()
    {
        var sealedObject = Sealer.Seal([1, 2, 3], ObjectKind.WalSegment, "acme", [Alice.ToRecipient()]);
        var log = SealLog(ThreeFrames);

        Assert.Equal(UnsupportedVersion, Assert.Throws<SealedIntegrityException>(() => SealedLogReader.Open(sealedObject, [Alice])).Code);
        Assert.Equal(UnsupportedVersion, LogOutcome.Of(sealedObject, [Alice]));
        Assert.Equal(UnsupportedVersion, Outcome.Of(log, [Alice]));
        Assert.Equal(UnsupportedVersion, Outcome.Of(log[..Sealer.ReadHeader(log).HeaderLength], [Alice]));
    }

    [Fact]
    public void Rewrap_of_a_log_rewrites_the_header_only_and_opens_with_the_new_identity_only()
    {
        var file = VectorFile.Load("log-small");
        var log = file.Hex("sealed");
        var frames = file.All("frame_plaintext").Select(Convert.FromHexString).ToList();
        var before = Sealer.ReadHeader(log);
        var bob = TestKeys.Identity("test/bob", EcCurveInfo.P384); // another curve: the header changes length

        var rewrapped = Sealer.Rewrap(log, file.Identities, [bob.ToRecipient()]);

        var after = Sealer.ReadHeader(rewrapped);
        int contextLength = FixedPrefixLength + 4 + ObjectIdLength + CreatedLength + PayloadSaltLength;
        Assert.Equal(2, after.Version);
        Assert.NotEqual(before.HeaderLength, after.HeaderLength);
        Assert.Equal(log[..contextLength], rewrapped[..contextLength]);
        Assert.Equal(log[before.HeaderLength..], rewrapped[after.HeaderLength..]);
        Assert.Equal([bob.KeyId], after.RecipientKeyIds);

        Assert.Equal(Outcome.Ok, LogOutcome.Of(rewrapped, [bob], LogPlace.Block, frames));
        Assert.Equal(Outcome.NoIdentityMatch, LogOutcome.Of(rewrapped, file.Identities));

        // A header from the rewrap does not fit another log's frames.
        var other = SealLog(ThreeFrames, seed: "other");
        byte[] spliced = [.. rewrapped[..after.HeaderLength], .. other[Sealer.ReadHeader(other).HeaderLength..]];
        Assert.Equal(ChunkAuthFailed, LogOutcome.Of(spliced, [bob]));
    }
}
