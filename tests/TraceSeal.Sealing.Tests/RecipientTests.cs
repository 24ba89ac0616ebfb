using TraceSeal.Sealing.Recipients;

namespace TraceSeal.Sealing.Tests;

public class RecipientTests
{
    private static readonly EcIdentity Alice = TestKeys.Identity("test/alice");
    private static readonly EcIdentity Bob = TestKeys.Identity("test/bob");
    private static readonly EcIdentity Carol384 = TestKeys.Identity("test/carol", EcCurveInfo.P384);

    [Fact]
    public void Wrong_identity_is_a_distinct_result_that_lists_the_wanted_key_ids()
    {
        var sealedObject = Sealer.Seal([1, 2, 3], ObjectKind.Block, "acme", [Alice.ToRecipient(), Carol384.ToRecipient()]);

        var e = Assert.Throws<NoIdentityMatchException>(() => Sealer.Open(sealedObject, [Bob], out _));

        Assert.Equal([Alice.KeyId, Carol384.KeyId], e.WantedKeyIds);
        Assert.Equal([Bob.KeyId], e.OfferedKeyIds);
        Assert.Contains(Alice.KeyId, e.Message, StringComparison.Ordinal);
        Assert.Contains(Bob.KeyId, e.Message, StringComparison.Ordinal);
        Assert.Throws<NoIdentityMatchException>(() => Sealer.Open(new MemoryStream(sealedObject), [Bob], out _));
    }

    [Fact]
    public void P384_recipients_work_alone_and_next_to_P256()
    {
        var plaintext = TestKeys.Pattern(70_000);
        var sealedObject = Sealer.Seal(plaintext, ObjectKind.Queue, "acme", [Alice.ToRecipient(), Carol384.ToRecipient()]);

        Assert.Equal(plaintext, Sealer.Open(sealedObject, [Carol384], out _));
        Assert.Equal(plaintext, Sealer.Open(sealedObject, [Alice], out _));
        Assert.Equal(Outcome.Ok, Outcome.Of(Sealer.Seal(plaintext, ObjectKind.Queue, "acme", [Carol384.ToRecipient()]), [Bob, Carol384], plaintext));
    }

    [Fact]
    public void Key_id_is_the_first_16_bytes_of_sha256_of_the_spki_in_lowercase_hex()
    {
        var spki = Alice.ToRecipient().ExportSubjectPublicKeyInfo();
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(spki)[..16]);

        Assert.Equal(expected, Alice.KeyId);
        Assert.Equal(expected, Alice.ToRecipient().KeyId);
    }

    [Fact]
    public void Rewrap_adds_a_recipient_and_keeps_the_payload_bytes()
    {
        var plaintext = TestKeys.Pattern(100_000);
        var original = Sealer.Seal(plaintext, ObjectKind.Block, "acme", [Alice.ToRecipient()]);
        var before = Sealer.ReadHeader(original);

        var rewrapped = Sealer.Rewrap(original, [Alice], [Alice.ToRecipient(), Bob.ToRecipient()]);
        var after = Sealer.ReadHeader(rewrapped);

        Assert.Equal(original[before.HeaderLength..], rewrapped[after.HeaderLength..]);
        Assert.Equal(before.ObjectId, after.ObjectId);
        Assert.Equal([Alice.KeyId, Bob.KeyId], after.RecipientKeyIds);
        Assert.Equal(plaintext, Sealer.Open(rewrapped, [Bob], out var info));
        Assert.Equal("acme", info.Tenant);
        Assert.Equal(plaintext, Sealer.Open(rewrapped, [Alice], out _));
    }

    [Fact]
    public void Rewrap_removes_a_recipient()
    {
        var original = Sealer.Seal([1, 2, 3], ObjectKind.Block, "acme", [Alice.ToRecipient(), Bob.ToRecipient()]);

        var rewrapped = Sealer.Rewrap(original, [Bob], [Bob.ToRecipient()]);

        var e = Assert.Throws<NoIdentityMatchException>(() => Sealer.Open(rewrapped, [Alice], out _));
        Assert.Equal([Bob.KeyId], e.WantedKeyIds);
        Assert.Equal([1, 2, 3], Sealer.Open(rewrapped, [Bob], out _));
    }

    [Fact]
    public void Rewrap_needs_a_current_identity_and_an_intact_header()
    {
        var original = Sealer.Seal([1, 2, 3], ObjectKind.Block, "acme", [Alice.ToRecipient()]);
        Assert.Throws<NoIdentityMatchException>(() => Sealer.Rewrap(original, [Bob], [Bob.ToRecipient()]));

        var relabelled = (byte[])original.Clone();
        relabelled[Format.FormatConstants.FixedPrefixLength] ^= 1;
        var e = Assert.Throws<SealedIntegrityException>(() => Sealer.Rewrap(relabelled, [Alice], [Bob.ToRecipient()]));
        Assert.Equal(SealedIntegrityException.HeaderMacMismatch, e.Code);
    }

    [Fact]
    public void A_rewrapped_header_cannot_be_moved_onto_another_objects_payload()
    {
        var a = Sealer.Seal(TestKeys.Pattern(100), ObjectKind.Block, "acme", [Alice.ToRecipient()]);
        var b = Sealer.Seal(TestKeys.Pattern(100), ObjectKind.Block, "acme", [Alice.ToRecipient()]);
        var rewrappedA = Sealer.Rewrap(a, [Alice], [Bob.ToRecipient()]);
        int h = Sealer.ReadHeader(rewrappedA).HeaderLength;

        byte[] mixed = [.. rewrappedA[..h], .. b[Sealer.ReadHeader(b).HeaderLength..]];

        Assert.Equal(SealedIntegrityException.ChunkAuthFailed, Outcome.Of(mixed, [Bob]));
    }
}
