using System.Text;

namespace TraceSeal.Sealing.Tests;

/// <summary>
/// The sealed log vectors (docs/format.md §14.9), checked like the v1 ones: the generator reproduces each file byte
/// for byte; `log-small` opens, as a block, to its frame plaintexts and re-encodes from the file's own fields to the
/// same bytes; each negative vector fails with its code. No log vector opens as a whole sealed object (§5).
/// </summary>
public class LogVectorTests
{
    public static TheoryData<string> Names()
    {
        var names = new TheoryData<string>();
        foreach (var vector in VectorGenerator.Logs())
        {
            names.Add(vector.Name);
        }

        return names;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Generator_reproduces_the_log_vector_file(string name) =>
        VectorTests.AssertGeneratorReproduces(VectorGenerator.Logs().Single(v => v.Name == name));

    [Theory]
    [MemberData(nameof(Names))]
    public void Log_vector_file_opens_or_fails_as_it_says(string name)
    {
        var file = VectorFile.Load(name);
        var log = file.Hex("sealed");
        var expect = file.One("expect");

        Assert.Equal(expect, LogOutcome.Of(log, file.Identities, LogPlace.Block, expect == Outcome.Ok ? Frames(file) : null));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void No_log_vector_opens_as_a_whole_sealed_object(string name)
    {
        var file = VectorFile.Load(name);

        Assert.Equal(SealedIntegrityException.UnsupportedVersion, Outcome.Of(file.Hex("sealed"), file.Identities));
    }

    [Fact]
    public void Log_small_re_encodes_byte_for_byte_from_its_file()
    {
        var file = VectorFile.Load("log-small");

        var resealed = VectorGenerator.SealLog(
            file.Kind,
            file.One("tenant"),
            file.Identities.Select(i => (IRecipient)i.ToRecipient()).ToList(),
            Frames(file),
            new SeededRandom(file.One("random_seed")),
            file.Created);

        Assert.Equal(file.Hex("sealed"), resealed);
    }

    [Fact]
    public void Log_small_has_the_layout_the_spec_draws()
    {
        var file = VectorFile.Load("log-small");
        var log = file.Hex("sealed");
        var frames = Frames(file);
        var info = Sealer.ReadHeader(log);
        int h = info.HeaderLength;

        Assert.Equal(2, info.Version);
        Assert.Equal(ObjectKind.WalSegment, info.ObjectKind);
        Assert.Equal("0200000022" + Convert.ToHexStringLower(Encoding.ASCII.GetBytes(VectorGenerator.LogFrame0Payload)), Convert.ToHexStringLower(frames[0]));
        Assert.Equal(VectorGenerator.LogFrame1Length, frames[1].Length);
        Assert.Equal("020000fffc", Convert.ToHexStringLower(frames[1], 0, 5));

        // frame 0: u32 length ‖ one chunk; frame 1: u32 length ‖ a full chunk ‖ a 1-byte chunk; end: u32 16 ‖ tag.
        int frame0 = 4 + 39 + 16;
        int frame1 = 4 + 65536 + 16 + 1 + 16;
        Assert.Equal(h + frame0 + frame1 + 20, log.Length);
        Assert.Equal("00000037", Convert.ToHexStringLower(log, h, 4));
        Assert.Equal("00010021", Convert.ToHexStringLower(log, h + frame0, 4));
        Assert.Equal("00000010", Convert.ToHexStringLower(log, log.Length - 20, 4));
    }

    [Fact]
    public void Log_missing_end_frame_still_reads_as_a_live_segment()
    {
        var file = VectorFile.Load("log-missing_end_frame");
        var small = VectorFile.Load("log-small");

        Assert.Equal(Outcome.Ok, LogOutcome.Of(file.Hex("sealed"), file.Identities, LogPlace.Live, Frames(small)));
    }

    private static List<byte[]> Frames(VectorFile file) => file.All("frame_plaintext").Select(Convert.FromHexString).ToList();
}
