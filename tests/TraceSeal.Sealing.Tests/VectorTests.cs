namespace TraceSeal.Sealing.Tests;

/// <summary>
/// The vector files are checked three ways: the generator reproduces them byte for byte, positive
/// vectors open to their plaintext and re-seal to the same bytes from the fields in the file alone,
/// and negative vectors fail with their code. Set TRACESEAL_WRITE_VECTORS=1 to regenerate the files.
/// Sealed log vectors (format version 2): <see cref="LogVectorTests"/>.
/// </summary>
public class VectorTests
{
    public static TheoryData<string> Names()
    {
        var names = new TheoryData<string>();
        foreach (var vector in VectorGenerator.All())
        {
            names.Add(vector.Name);
        }

        return names;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Generator_reproduces_the_vector_file(string name) =>
        AssertGeneratorReproduces(VectorGenerator.All().Single(v => v.Name == name));

    [Theory]
    [MemberData(nameof(Names))]
    public void Vector_file_opens_or_fails_as_it_says(string name)
    {
        var file = VectorFile.Load(name);
        var identities = file.Identities;
        var sealedObject = file.Hex("sealed");
        var expect = file.One("expect");

        if (expect != "ok")
        {
            Assert.Equal(expect, Outcome.Of(sealedObject, identities));
            return;
        }

        var plaintext = file.Hex("plaintext");
        Assert.Equal(Outcome.Ok, Outcome.Of(sealedObject, identities, plaintext));

        var resealed = Sealer.Seal(
            plaintext,
            file.Kind,
            file.One("tenant"),
            identities.Select(i => (IRecipient)i.ToRecipient()).ToList(),
            new SeededRandom(file.One("random_seed")),
            file.Created);
        Assert.Equal(sealedObject, resealed);
    }

    [Fact]
    public void Every_identity_alone_opens_the_two_recipient_vector()
    {
        var file = VectorFile.Load("two_recipients");
        var sealedObject = file.Hex("sealed");
        Assert.Equal(2, file.Identities.Count);

        foreach (var identity in file.Identities)
        {
            Assert.Equal(VectorGenerator.SmallPlaintext, System.Text.Encoding.ASCII.GetString(Sealer.Open(sealedObject, [identity], out _)));
        }
    }

    /// <summary>The generator's rendering equals the checked-in file (TRACESEAL_WRITE_VECTORS=1 rewrites it first).</summary>
    internal static void AssertGeneratorReproduces(Vector vector)
    {
        var path = Path.Combine(VectorGenerator.VectorsDirectory(), vector.FileName);
        if (Environment.GetEnvironmentVariable("TRACESEAL_WRITE_VECTORS") == "1")
        {
            File.WriteAllText(path, vector.Render());
        }

        Assert.Equal(vector.Render(), File.ReadAllText(path));
    }
}
