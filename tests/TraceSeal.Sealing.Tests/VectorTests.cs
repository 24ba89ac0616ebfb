using System.Globalization;
using TraceSeal.Sealing.Recipients;

namespace TraceSeal.Sealing.Tests;

/// <summary>
/// The vector files are checked three ways: the generator reproduces them byte for byte, positive
/// vectors open to their plaintext and re-seal to the same bytes from the fields in the file alone,
/// and negative vectors fail with their code. Set TRACESEAL_WRITE_VECTORS=1 to regenerate the files.
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
    public void Generator_reproduces_the_vector_file(string name)
    {
        var vector = VectorGenerator.All().Single(v => v.Name == name);
        var path = Path.Combine(VectorGenerator.VectorsDirectory(), vector.FileName);
        if (Environment.GetEnvironmentVariable("TRACESEAL_WRITE_VECTORS") == "1")
        {
            File.WriteAllText(path, vector.Render());
        }

        Assert.Equal(vector.Render(), File.ReadAllText(path));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Vector_file_opens_or_fails_as_it_says(string name)
    {
        var fields = ReadFields(Path.Combine(VectorGenerator.VectorsDirectory(), name + ".hex"));
        var identities = fields["identity"].Select(ParseIdentity).ToList();
        var sealedObject = Convert.FromHexString(fields["sealed"].Single());
        var expect = fields["expect"].Single();

        if (expect != "ok")
        {
            Assert.Equal(expect, Outcome.Of(sealedObject, identities));
            return;
        }

        var plaintext = Convert.FromHexString(fields["plaintext"].Single());
        Assert.Equal(Outcome.Ok, Outcome.Of(sealedObject, identities, plaintext));

        var resealed = Sealer.Seal(
            plaintext,
            (ObjectKind)int.Parse(fields["kind"].Single(), CultureInfo.InvariantCulture),
            fields["tenant"].Single(),
            identities.Select(i => (IRecipient)i.ToRecipient()).ToList(),
            new SeededRandom(fields["random_seed"].Single()),
            DateTimeOffset.FromUnixTimeSeconds(long.Parse(fields["created"].Single(), CultureInfo.InvariantCulture)));
        Assert.Equal(sealedObject, resealed);
    }

    [Fact]
    public void Every_identity_alone_opens_the_two_recipient_vector()
    {
        var fields = ReadFields(Path.Combine(VectorGenerator.VectorsDirectory(), "two_recipients.hex"));
        var sealedObject = Convert.FromHexString(fields["sealed"].Single());
        Assert.Equal(2, fields["identity"].Count);

        foreach (var identity in fields["identity"].Select(ParseIdentity))
        {
            Assert.Equal(VectorGenerator.SmallPlaintext, System.Text.Encoding.ASCII.GetString(Sealer.Open(sealedObject, [identity], out _)));
        }
    }

    private static EcIdentity ParseIdentity(string value)
    {
        var parts = value.Split(' ');
        return EcIdentity.FromScalar(EcCurveInfo.FromName(parts[0])!, Convert.FromHexString(parts[1]));
    }

    private static Dictionary<string, List<string>> ReadFields(string path)
    {
        var fields = new Dictionary<string, List<string>>();
        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith('#') || line.Length == 0)
            {
                continue;
            }

            int colon = line.IndexOf(": ", StringComparison.Ordinal);
            var key = line[..colon];
            if (!fields.TryGetValue(key, out var values))
            {
                fields[key] = values = [];
            }

            values.Add(line[(colon + 2)..]);
        }

        return fields;
    }
}
