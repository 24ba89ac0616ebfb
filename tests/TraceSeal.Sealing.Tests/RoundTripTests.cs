using TraceSeal.Sealing.Format;

namespace TraceSeal.Sealing.Tests;

public class RoundTripTests
{
    private static readonly Recipients.EcIdentity Alice = TestKeys.Identity("test/alice");

    public static TheoryData<int> Sizes => new()
    {
        0, 1, FormatConstants.ChunkSize - 1, FormatConstants.ChunkSize, FormatConstants.ChunkSize + 1, 1024 * 1024,
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Span_seal_then_open_returns_the_plaintext(int size)
    {
        var plaintext = TestKeys.Pattern(size);
        var sealedObject = Sealer.Seal(plaintext, ObjectKind.Block, "acme", [Alice.ToRecipient()]);

        var opened = Sealer.Open(sealedObject, [Alice], out var info);

        Assert.Equal(plaintext, opened);
        Assert.Equal("block", info.Kind);
        Assert.Equal("acme", info.Tenant);
        Assert.Equal([Alice.KeyId], info.RecipientKeyIds);
        int chunks = Math.Max(1, (size + FormatConstants.ChunkSize - 1) / FormatConstants.ChunkSize);
        Assert.Equal(info.HeaderLength + size + (chunks * FormatConstants.TagLength), sealedObject.Length);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Stream_seal_is_byte_identical_to_span_seal_and_stream_open_reads_it_back(int size)
    {
        var plaintext = TestKeys.Pattern(size);
        var expected = Sealer.Seal(plaintext, ObjectKind.WalSegment, "acme", [Alice.ToRecipient()], TestKeys.Random("rt"), TestKeys.FixedTime);

        var destination = new MemoryStream();
        using (var sealing = Sealer.Seal(destination, ObjectKind.WalSegment, "acme", [Alice.ToRecipient()], TestKeys.Random("rt"), TestKeys.FixedTime))
        {
            // Odd write sizes cross chunk boundaries in every way.
            for (int pos = 0; pos < size;)
            {
                int n = Math.Min(size - pos, 1 + (pos % 7919));
                sealing.Write(plaintext, pos, n);
                pos += n;
            }
        }

        Assert.Equal(expected, destination.ToArray());

        using var opening = Sealer.Open(new MemoryStream(expected), [Alice], out var info);
        var output = new MemoryStream();
        var buffer = new byte[5003];
        int read;
        while ((read = opening.Read(buffer, 0, buffer.Length)) > 0)
        {
            output.Write(buffer, 0, read);
        }

        Assert.Equal(plaintext, output.ToArray());
        Assert.Equal("wal-segment", info.Kind);
    }

    [Fact]
    public void Every_object_gets_a_fresh_file_key_object_id_and_salt()
    {
        var plaintext = TestKeys.Pattern(100);
        var first = Sealer.Seal(plaintext, ObjectKind.Block, "acme", [Alice.ToRecipient()]);
        var second = Sealer.Seal(plaintext, ObjectKind.Block, "acme", [Alice.ToRecipient()]);

        Assert.NotEqual(Sealer.ReadHeader(first).ObjectId, Sealer.ReadHeader(second).ObjectId);
        Assert.NotEqual(first[^116..], second[^116..]);
    }

    [Fact]
    public void Read_header_needs_no_key_and_shows_what_the_object_wants()
    {
        var bob = TestKeys.Identity("test/bob");
        var sealedObject = Sealer.Seal([1, 2, 3], ObjectKind.Index, "tenant-ü", [Alice.ToRecipient(), bob.ToRecipient()], TestKeys.Random("rh"), TestKeys.FixedTime.AddSeconds(59));

        var info = Sealer.ReadHeader(sealedObject);

        Assert.Equal("index", info.Kind);
        Assert.Equal(ObjectKind.Index, info.ObjectKind);
        Assert.Equal("tenant-ü", info.Tenant);
        Assert.Equal(32, info.ObjectId.Length);
        Assert.Equal(TestKeys.FixedTime.ToUnixTimeSeconds(), info.CreatedUnixSeconds); // 60 s bucket
        Assert.Equal([Alice.KeyId, bob.KeyId], info.RecipientKeyIds);
    }

    [Fact]
    public void Bad_arguments_are_refused_before_anything_is_written()
    {
        var recipient = Alice.ToRecipient();
        Assert.Throws<ArgumentException>(() => Sealer.Seal([1], ObjectKind.Block, "", [recipient]));
        Assert.Throws<ArgumentException>(() => Sealer.Seal([1], ObjectKind.Block, new string('x', 256), [recipient]));
        Assert.Throws<ArgumentException>(() => Sealer.Seal([1], ObjectKind.Block, "acme", []));
        Assert.Throws<ArgumentException>(() => Sealer.Seal([1], ObjectKind.Block, "acme", [new ForeignRecipient()]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sealer.Seal([1], (ObjectKind)99, "acme", [recipient]));
    }

    private sealed class ForeignRecipient : IRecipient
    {
        public string KeyId => "00";
    }
}
