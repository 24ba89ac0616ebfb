using TraceSeal.Sealing.Recipients;
using static TraceSeal.Sealing.Format.FormatConstants;
using static TraceSeal.Sealing.SealedIntegrityException;

namespace TraceSeal.Sealing.Tests;

public class TamperTests
{
    private static readonly EcIdentity Alice = TestKeys.Identity("test/alice");

    private static byte[] SealTo(byte[] plaintext, string tenant = "acme", string seed = "tamper") =>
        Sealer.Seal(plaintext, ObjectKind.Block, tenant, [Alice.ToRecipient()], TestKeys.Random(seed), TestKeys.FixedTime);

    [Fact]
    public void Every_single_byte_flip_of_a_small_object_is_detected()
    {
        var sealedObject = SealTo(TestKeys.Pattern(40));
        int headerLength = Sealer.ReadHeader(sealedObject).HeaderLength;
        int tenantEnd = FixedPrefixLength + 4;
        int keyIdStart = tenantEnd + ObjectIdLength + CreatedLength + PayloadSaltLength + 2;

        for (int i = 0; i < sealedObject.Length; i++)
        {
            var tampered = (byte[])sealedObject.Clone();
            tampered[i] ^= 0x01;

            var outcome = Outcome.Of(tampered, [Alice]);

            string expected = i switch
            {
                < MagicLength => BadMagic,
                MagicLength => UnsupportedVersion,
                _ when i >= keyIdStart && i < keyIdStart + KeyIdLength => Outcome.NoIdentityMatch,
                _ when i >= headerLength => ChunkAuthFailed,
                _ => outcome, // checked below: some integrity failure
            };
            Assert.True(outcome == expected, $"byte {i}: {outcome}, expected {expected}");
            Assert.NotEqual(Outcome.Ok, outcome);
        }
    }

    [Fact]
    public void Header_fields_changed_in_place_fail_the_header_mac()
    {
        var sealedObject = SealTo(TestKeys.Pattern(40));

        var relabelled = (byte[])sealedObject.Clone();
        relabelled[FixedPrefixLength + 3] = (byte)'f'; // "acme" -> "acmf"
        Assert.Equal("acmf", Sealer.ReadHeader(relabelled).Tenant);
        Assert.Equal(HeaderMacMismatch, Outcome.Of(relabelled, [Alice]));

        var rekinded = (byte[])sealedObject.Clone();
        rekinded[MagicLength + 1] = (byte)ObjectKind.Index;
        Assert.Equal(HeaderMacMismatch, Outcome.Of(rekinded, [Alice]));
    }

    [Fact]
    public void A_stanza_that_matches_the_key_id_but_was_altered_fails_to_unwrap()
    {
        var sealedObject = SealTo(TestKeys.Pattern(40));
        int headerLength = Sealer.ReadHeader(sealedObject).HeaderLength;
        sealedObject[headerLength - HeaderMacLength - 1] ^= 0x80; // last byte of the wrapped file key

        Assert.Equal(StanzaUnwrapFailed, Outcome.Of(sealedObject, [Alice]));
    }

    [Fact]
    public void An_ephemeral_point_off_the_curve_is_rejected_before_ecdh()
    {
        var sealedObject = SealTo(TestKeys.Pattern(40));
        int pointEnd = Sealer.ReadHeader(sealedObject).HeaderLength - HeaderMacLength - WrappedFileKeyLength;
        sealedObject[pointEnd - 1] ^= 0x01; // last byte of Y: the point leaves the curve

        Assert.Equal(StanzaUnwrapFailed, Outcome.Of(sealedObject, [Alice]));
    }

    [Fact]
    public void Truncation_at_every_chunk_boundary_and_inside_chunks_is_detected()
    {
        var plaintext = TestKeys.Pattern((2 * ChunkSize) + 100);
        var sealedObject = SealTo(plaintext);
        Assert.Equal(Outcome.Ok, Outcome.Of(sealedObject, [Alice], plaintext));
        int h = Sealer.ReadHeader(sealedObject).HeaderLength;

        int[] boundaries = [h, h + EncryptedChunkSize, h + (2 * EncryptedChunkSize)];
        foreach (int cut in boundaries)
        {
            Assert.Equal(Truncated, Outcome.Of(sealedObject[..cut], [Alice]));
        }

        int[] insideChunks = [h + 1, h + TagLength, h + 1000, h + EncryptedChunkSize - 1, h + EncryptedChunkSize + 1, sealedObject.Length - 1];
        foreach (int cut in insideChunks)
        {
            var outcome = Outcome.Of(sealedObject[..cut], [Alice]);
            Assert.True(outcome is Truncated or ChunkAuthFailed, $"cut at {cut}: {outcome}");
        }

        int[] insideHeader = [0, 3, FixedPrefixLength, h - 1];
        foreach (int cut in insideHeader)
        {
            Assert.Equal(Truncated, Outcome.Of(sealedObject[..cut], [Alice]));
        }
    }

    [Fact]
    public void Appended_bytes_are_detected()
    {
        var small = SealTo(TestKeys.Pattern(40));
        Assert.Equal(ChunkAuthFailed, Outcome.Of([.. small, 0], [Alice]));

        // After a full-size final chunk the extra bytes are named for what they are.
        var full = SealTo(TestKeys.Pattern(ChunkSize));
        Assert.Equal(TrailingData, Outcome.Of([.. full, 0], [Alice]));
        Assert.Equal(TrailingData, Outcome.Of([.. full, .. full[^EncryptedChunkSize..]], [Alice]));
    }

    [Fact]
    public void Reordered_chunks_within_an_object_are_detected()
    {
        var sealedObject = SealTo(TestKeys.Pattern((2 * ChunkSize) + 100));
        int h = Sealer.ReadHeader(sealedObject).HeaderLength;
        var first = sealedObject[h..(h + EncryptedChunkSize)];
        var second = sealedObject[(h + EncryptedChunkSize)..(h + (2 * EncryptedChunkSize))];

        byte[] swapped = [.. sealedObject[..h], .. second, .. first, .. sealedObject[(h + (2 * EncryptedChunkSize))..]];

        Assert.Equal(ChunkAuthFailed, Outcome.Of(swapped, [Alice]));
    }

    [Fact]
    public void Chunks_and_headers_swapped_between_two_objects_are_detected()
    {
        var plaintext = TestKeys.Pattern(ChunkSize + 100);
        var a = SealTo(plaintext, seed: "a");
        var b = SealTo(plaintext, seed: "b");
        int h = Sealer.ReadHeader(a).HeaderLength;
        Assert.Equal(h, Sealer.ReadHeader(b).HeaderLength);

        byte[] chunkFromB = [.. a[..h], .. b[h..(h + EncryptedChunkSize)], .. a[(h + EncryptedChunkSize)..]];
        byte[] headerOfA = [.. a[..h], .. b[h..]];

        Assert.Equal(ChunkAuthFailed, Outcome.Of(chunkFromB, [Alice]));
        Assert.Equal(ChunkAuthFailed, Outcome.Of(headerOfA, [Alice]));
    }

    [Fact]
    public void A_failed_stream_stays_failed()
    {
        var sealedObject = SealTo(TestKeys.Pattern(ChunkSize + 100));
        sealedObject[^1] ^= 1;
        using var stream = Sealer.Open(new MemoryStream(sealedObject), [Alice], out _);
        var buffer = new byte[ChunkSize];
        stream.ReadExactly(buffer); // first chunk authenticates

        Assert.Equal(ChunkAuthFailed, Assert.Throws<SealedIntegrityException>(() => stream.Read(buffer)).Code);
        Assert.Equal(ChunkAuthFailed, Assert.Throws<SealedIntegrityException>(() => stream.Read(buffer)).Code);
    }

    [Fact]
    public void Not_a_sealed_object_is_bad_magic()
    {
        Assert.Equal(BadMagic, Outcome.Of("{\"resourceSpans\":[]}"u8.ToArray(), [Alice]));
        Assert.Equal(BadMagic, Outcome.Of("XTS"u8.ToArray(), [Alice]));
        Assert.Equal(Truncated, Outcome.Of("TSE"u8.ToArray(), [Alice]));
    }
}
