using TraceSeal.Pki;

namespace TraceSeal.OpenTelemetry.Tests.Infrastructure;

/// <summary>
/// Certificates made at test time: the configured CA (ca.crt) with a server certificate for 127.0.0.1/localhost
/// and a client certificate; a second CA ("the system store", other-ca.crt) with its own server certificate for
/// the same host; a server certificate from the right CA that lacks the host; an expired and a not-yet-valid
/// client certificate. Shared by the collection; each test that rewrites files copies what it needs first.
/// </summary>
public sealed class TestPki : IDisposable
{
    public TestPki()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("traceseal-sdk-").FullName;
        Ca = DevPki.CreateCa();
        File.WriteAllText(CaCertificate, Ca.CertificatePem);
        using (var server = DevPki.IssueServer(Ca, "localhost", ["localhost", "127.0.0.1"]))
        {
            server.WriteFiles(ServerCertificate, ServerKey);
        }

        using (var client = DevPki.IssueClient(Ca, "my-application"))
        {
            client.WriteFiles(ClientCertificate, ClientKey);
        }

        using (var otherCa = DevPki.CreateCa("Some Public CA"))
        {
            File.WriteAllText(OtherCaCertificate, otherCa.CertificatePem);
            using var otherServer = DevPki.IssueServer(otherCa, "localhost", ["localhost", "127.0.0.1"]);
            otherServer.WriteFiles(OtherServerCertificate, OtherServerKey);
        }

        using (var wrongHost = DevPki.IssueServer(Ca, "collector.example", ["collector.example"]))
        {
            wrongHost.WriteFiles(WrongHostServerCertificate, WrongHostServerKey);
        }

        using (var expired = DevPki.IssueClient(Ca, "expired-app", validity: TimeSpan.FromDays(1), notBefore: DateTimeOffset.UtcNow.AddDays(-10)))
        {
            expired.WriteFiles(ExpiredClientCertificate, ExpiredClientKey);
        }

        using (var future = DevPki.IssueClient(Ca, "future-app", validity: TimeSpan.FromDays(30), notBefore: DateTimeOffset.UtcNow.AddDays(10)))
        {
            future.WriteFiles(FutureClientCertificate, FutureClientKey);
        }
    }

    public string Directory { get; }

    internal IssuedCertificate Ca { get; }

    public string CaCertificate => Path.Combine(Directory, "ca.crt");
    public string ServerCertificate => Path.Combine(Directory, "server.crt");
    public string ServerKey => Path.Combine(Directory, "server.key");
    public string ClientCertificate => Path.Combine(Directory, "client.crt");
    public string ClientKey => Path.Combine(Directory, "client.key");
    public string OtherCaCertificate => Path.Combine(Directory, "other-ca.crt");
    public string OtherServerCertificate => Path.Combine(Directory, "other-server.crt");
    public string OtherServerKey => Path.Combine(Directory, "other-server.key");
    public string WrongHostServerCertificate => Path.Combine(Directory, "wrong-host-server.crt");
    public string WrongHostServerKey => Path.Combine(Directory, "wrong-host-server.key");
    public string ExpiredClientCertificate => Path.Combine(Directory, "expired-client.crt");
    public string ExpiredClientKey => Path.Combine(Directory, "expired-client.key");
    public string FutureClientCertificate => Path.Combine(Directory, "future-client.crt");
    public string FutureClientKey => Path.Combine(Directory, "future-client.key");

    /// <summary>A fresh directory for files a test rewrites (rotation).</summary>
    public string NewDirectory() => System.IO.Directory.CreateDirectory(Path.Combine(Directory, "run-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    public void Dispose()
    {
        Ca.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless.
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SdkCollection : ICollectionFixture<TestPki>
{
    // One collection: the tests share certificates and run one after another (a loaded two-core machine).
    public const string Name = "sdk";
}
