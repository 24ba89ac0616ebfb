namespace TraceSeal.Pki.Tests;

public class ParseAlgorithmTests
{
    [Theory]
    [InlineData("ecdsa-p256", KeyAlgorithm.EcdsaP256)]
    [InlineData("ECDSA-P384", KeyAlgorithm.EcdsaP384)]
    [InlineData(" rsa2048 ", KeyAlgorithm.Rsa2048)]
    [InlineData("rsa3072", KeyAlgorithm.Rsa3072)]
    [InlineData("rsa4096", KeyAlgorithm.Rsa4096)]
    [InlineData("", KeyAlgorithm.EcdsaP256)]
    public void ParsesTheDocumentedNames(string text, KeyAlgorithm expected)
    {
        Assert.Equal(expected, DevPki.ParseAlgorithm(text));
    }

    [Theory]
    [InlineData("rsa1024")]
    [InlineData("ed25519")]
    [InlineData("p256")]
    public void UnknownNamesListTheValidOnes(string text)
    {
        var error = Assert.Throws<ArgumentException>(() => DevPki.ParseAlgorithm(text));
        Assert.Contains($"'{text}'", error.Message);
        Assert.Contains("ecdsa-p256, ecdsa-p384, rsa2048, rsa3072, rsa4096", error.Message);
    }

    [Fact]
    public void FormatIsTheInverseOfParse()
    {
        foreach (KeyAlgorithm algorithm in Enum.GetValues<KeyAlgorithm>())
        {
            Assert.Equal(algorithm, DevPki.ParseAlgorithm(DevPki.FormatAlgorithm(algorithm)));
        }
    }
}
