namespace TraceSeal.Pki.Tests;

public class InspectorTests
{
    [Fact]
    public void DescribesSansEkusKeyAndFingerprint()
    {
        using var dir = new TempDir();
        using IssuedCertificate ca = DevPki.CreateCa();
        using IssuedCertificate server = DevPki.IssueServer(ca, "collector", ["collector.internal", "10.0.0.7", "::1"]);
        server.WriteFiles(dir.File("server.crt"), dir.File("server.key"));

        string text = CertificateInspector.Describe(dir.File("server.crt"));

        Assert.Contains("CN=collector", text);
        Assert.Contains("CN=TraceSeal Dev CA", text);
        Assert.Contains("DNS:collector.internal, IP:10.0.0.7, IP:::1", text);
        Assert.Contains("serverAuth", text);
        Assert.Contains("ECDSA P-256 (256 bits)", text);
        Assert.Contains("days left", text);
        Assert.DoesNotContain("EXPIRED", text);
        string fingerprint = string.Join(':', Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(server.Certificate.RawData)).Chunk(2).Select(c => new string(c)));
        Assert.Contains(fingerprint, text);
        Assert.Contains("[1] is issued by CN=TraceSeal Dev CA, which is not in this file", text);
    }

    [Fact]
    public void MarksExpiredAndNotYetValid()
    {
        using var dir = new TempDir();
        using IssuedCertificate ca = DevPki.CreateCa();
        using IssuedCertificate expired = DevPki.IssueClient(ca, "old", ["old.svc"], notBefore: DateTimeOffset.UtcNow.AddDays(-30), validity: TimeSpan.FromDays(2));
        using IssuedCertificate future = DevPki.IssueClient(ca, "future", notBefore: DateTimeOffset.UtcNow.AddDays(3));
        expired.WriteFiles(dir.File("old.crt"), dir.File("old.key"));
        future.WriteFiles(dir.File("future.crt"), dir.File("future.key"));
        ca.WriteFiles(dir.File("ca.crt"), dir.File("ca.key"));

        string old = CertificateInspector.Describe(dir.File("old.crt"), dir.File("ca.crt"));
        Assert.Contains("EXPIRED 28 day(s) ago", old);
        Assert.Contains("DNS:old.svc", old);
        Assert.Contains("clientAuth", old);
        Assert.Contains("FAILED", old);
        Assert.Contains("expired or not yet valid", old);

        Assert.Contains("NOT YET VALID", CertificateInspector.Describe(dir.File("future.crt")));
    }

    [Fact]
    public void BundleShowsLinksAndVerifiesAgainstTheCaFile()
    {
        using var dir = new TempDir();
        using IssuedCertificate ca = DevPki.CreateCa(algorithm: KeyAlgorithm.Rsa2048);
        using IssuedCertificate other = DevPki.CreateCa("Other CA");
        using IssuedCertificate leaf = DevPki.IssueServer(ca, "s", ["localhost"]);
        File.WriteAllText(dir.File("bundle.pem"), leaf.CertificatePem + ca.CertificatePem);
        File.WriteAllText(dir.File("wrong.pem"), leaf.CertificatePem + other.CertificatePem);
        File.WriteAllText(dir.File("ca.crt"), ca.CertificatePem);
        File.WriteAllText(dir.File("other.crt"), other.CertificatePem);

        string good = CertificateInspector.Describe(dir.File("bundle.pem"), dir.File("ca.crt"));
        Assert.Contains("Certificate [2/2]", good);
        Assert.Contains("RSA (2048 bits)", good);
        Assert.Contains("CA:                 yes (path length 0)", good);
        Assert.Contains("[1] is signed by [2]; [2] is self-signed", good);
        Assert.Contains("OK, trusted (CN=s -> CN=TraceSeal Dev CA)", good);

        string wrong = CertificateInspector.Describe(dir.File("wrong.pem"), dir.File("other.crt"));
        Assert.Contains("[1] is NOT signed by [2]", wrong);
        Assert.Contains("FAILED", wrong);
        Assert.Contains("wrong CA file?", wrong);
    }

    [Fact]
    public void KeyFileGetsAHelpfulError()
    {
        using var dir = new TempDir();
        using IssuedCertificate ca = DevPki.CreateCa();
        ca.WriteFiles(dir.File("ca.crt"), dir.File("ca.key"));

        var error = Assert.Throws<InvalidDataException>(() => CertificateInspector.Describe(dir.File("ca.key")));
        Assert.Contains("private key", error.Message);
        Assert.Throws<FileNotFoundException>(() => CertificateInspector.Describe(dir.File("nope.crt")));
    }

    [Fact]
    public void ReadsDerCertificates()
    {
        using var dir = new TempDir();
        using IssuedCertificate ca = DevPki.CreateCa("DER CA");
        File.WriteAllBytes(dir.File("ca.cer"), ca.Certificate.RawData);
        Assert.Contains("[1] is self-signed", CertificateInspector.Describe(dir.File("ca.cer")));
    }
}
