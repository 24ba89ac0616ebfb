using System.Runtime.Versioning;

namespace TraceSeal.Pki.Tests;

public class DevPkiFileTests
{
    private static readonly string[] InitNames = ["ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key"];

    [Fact]
    public void WriteFilesThenLoadRoundTrips()
    {
        using var dir = new TempDir();
        using IssuedCertificate ca = DevPki.CreateCa(algorithm: KeyAlgorithm.EcdsaP384);
        ca.WriteFiles(dir.File("ca.crt"), dir.File("ca.key"));

        using IssuedCertificate loaded = DevPki.Load(dir.File("ca.crt"), dir.File("ca.key"));
        Assert.True(loaded.Certificate.HasPrivateKey);
        Assert.Equal(ca.Certificate.Thumbprint, loaded.Certificate.Thumbprint);
        Assert.Equal(ca.CertificatePem, loaded.CertificatePem);
        Assert.Equal(ca.PrivateKeyPem, loaded.PrivateKeyPem);

        // The loaded CA can sign, and what it signs chains to the original.
        using IssuedCertificate leaf = DevPki.IssueServer(loaded, "s", ["localhost"]);
        ChainAssert.Valid(leaf.Certificate, ca.Certificate);
    }

    [Fact]
    public void LoadWithTheWrongKeyNamesBothFiles()
    {
        using var dir = new TempDir();
        using IssuedCertificate a = DevPki.CreateCa();
        using IssuedCertificate b = DevPki.CreateCa();
        a.WriteFiles(dir.File("a.crt"), dir.File("a.key"));
        b.WriteFiles(dir.File("b.crt"), dir.File("b.key"));

        var error = Assert.ThrowsAny<Exception>(() => DevPki.Load(dir.File("a.crt"), dir.File("b.key")));
        Assert.Contains("a.crt", error.Message);
        Assert.Contains("b.key", error.Message);
        Assert.Throws<FileNotFoundException>(() => DevPki.Load(dir.File("missing.crt"), dir.File("a.key")));
    }

    [UnixFact]
    [UnsupportedOSPlatform("windows")]
    public void KeyFilesAre0600CertificatesAre0644AndNewDirectories0700()
    {
        using var dir = new TempDir();
        string outDir = Path.Combine(dir.Path, "pki");

        IReadOnlyList<string> written = DevPki.Init(outDir, ["localhost"]);

        Assert.Equal(InitNames.Select(n => Path.Combine(outDir, n)), written);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(outDir));
        foreach (string path in written)
        {
            UnixFileMode expected = path.EndsWith(".key", StringComparison.Ordinal)
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            Assert.Equal(expected, File.GetUnixFileMode(path));
        }

        Assert.Empty(Directory.GetFiles(outDir, "*.tmp"));
    }

    [UnixFact]
    [UnsupportedOSPlatform("windows")]
    public void ForcedOverwriteStillLeavesKey0600()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("app.key"), "old");
        File.SetUnixFileMode(dir.File("app.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        using IssuedCertificate ca = DevPki.CreateCa();
        ca.WriteFiles(dir.File("app.crt"), dir.File("app.key"));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dir.File("app.key")));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(dir.File("app.key")));
    }

    [Fact]
    public void InitRefusesToOverwriteWithoutForce()
    {
        using var dir = new TempDir();
        DevPki.Init(dir.Path, []);
        string caBefore = File.ReadAllText(dir.File("ca.crt"));
        File.Delete(dir.File("client.key"));

        var error = Assert.Throws<IOException>(() => DevPki.Init(dir.Path, []));
        Assert.Contains("ca.crt", error.Message);
        Assert.Contains("--force", error.Message);
        Assert.Equal(caBefore, File.ReadAllText(dir.File("ca.crt")));
        Assert.False(File.Exists(dir.File("client.key"))); // nothing written on refusal

        DevPki.Init(dir.Path, [], force: true);
        Assert.NotEqual(caBefore, File.ReadAllText(dir.File("ca.crt")));
    }

    [Fact]
    public void InitProducesAWorkingSet()
    {
        using var dir = new TempDir();
        DevPki.Init(dir.Path, [], KeyAlgorithm.Rsa2048, clientCommonName: "my-app");

        using IssuedCertificate ca = DevPki.Load(dir.File("ca.crt"), dir.File("ca.key"));
        using IssuedCertificate server = DevPki.Load(dir.File("server.crt"), dir.File("server.key"));
        using IssuedCertificate client = DevPki.Load(dir.File("client.crt"), dir.File("client.key"));
        ChainAssert.Valid(server.Certificate, ca.Certificate);
        ChainAssert.Valid(client.Certificate, ca.Certificate);
        Assert.True(server.Certificate.MatchesHostname("localhost"));
        Assert.True(server.Certificate.MatchesHostname("::1"));
        Assert.True(server.Certificate.MatchesHostname("127.0.0.1"));
        Assert.Equal(["cn:my-app"], CertificateIdentity.From(client.Certificate));
    }

    [Fact]
    public void IssueClientFilesSignsWithTheCaOnDisk()
    {
        using var dir = new TempDir();
        DevPki.Init(dir.Path, ["localhost"]);
        string outDir = Path.Combine(dir.Path, "clients");

        IReadOnlyList<string> written = DevPki.IssueClientFiles(
            dir.File("ca.crt"), dir.File("ca.key"), outDir, "payments", ["payments.svc"], ["spiffe://corp/ns/payments/sa/api"], KeyAlgorithm.EcdsaP256, TimeSpan.FromDays(30));

        Assert.Equal([Path.Combine(outDir, "payments.crt"), Path.Combine(outDir, "payments.key")], written);
        using IssuedCertificate ca = DevPki.Load(dir.File("ca.crt"), dir.File("ca.key"));
        using IssuedCertificate client = DevPki.Load(written[0], written[1]);
        ChainAssert.Valid(client.Certificate, ca.Certificate);
        Assert.Equal(["cn:payments", "dns:payments.svc", "uri:spiffe://corp/ns/payments/sa/api"], CertificateIdentity.From(client.Certificate));
        Assert.InRange((client.Certificate.NotAfter - client.Certificate.NotBefore).TotalDays, 29.9, 30.1);

        Assert.Throws<IOException>(() => DevPki.IssueClientFiles(dir.File("ca.crt"), dir.File("ca.key"), outDir, "payments", null, null, KeyAlgorithm.EcdsaP256, null));
        DevPki.IssueClientFiles(dir.File("ca.crt"), dir.File("ca.key"), outDir, "payments", null, null, KeyAlgorithm.EcdsaP256, null, force: true);
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData(".hidden")]
    [InlineData("a/b")]
    [InlineData("")]
    public void IssueClientFilesRejectsNamesThatAreNotPlainFileNames(string name)
    {
        using var dir = new TempDir();
        Assert.ThrowsAny<ArgumentException>(() => DevPki.IssueClientFiles(dir.File("ca.crt"), dir.File("ca.key"), dir.Path, name, null, null, KeyAlgorithm.EcdsaP256, null));
    }
}
