using TraceSeal.Pki;

namespace TraceSeal.Verify.Tests.Support;

/// <summary>One CA, a localhost/127.0.0.1 server certificate and a client certificate, also as files
/// (the CLI-facing options take paths). Removed with the directory on dispose.</summary>
internal sealed class TestPki : IDisposable
{
    public TestPki()
    {
        Dir = Directory.CreateTempSubdirectory("traceseal-verify-").FullName;
        Ca = DevPki.CreateCa("Verify Test CA");
        Server = DevPki.IssueServer(Ca, "localhost", ["localhost", "127.0.0.1"]);
        Client = DevPki.IssueClient(Ca, "verify-test-client");
        File.WriteAllText(CaFile, Ca.CertificatePem);
        Server.WriteFiles(Path.Combine(Dir, "server.crt"), Path.Combine(Dir, "server.key"));
        Client.WriteFiles(ClientCertFile, ClientKeyFile);
    }

    public string Dir { get; }

    public IssuedCertificate Ca { get; }

    public IssuedCertificate Server { get; }

    public IssuedCertificate Client { get; }

    public string CaFile => Path.Combine(Dir, "ca.crt");

    public string ServerCertFile => Path.Combine(Dir, "server.crt");

    public string ServerKeyFile => Path.Combine(Dir, "server.key");

    public string ClientCertFile => Path.Combine(Dir, "client.crt");

    public string ClientKeyFile => Path.Combine(Dir, "client.key");

    public void Dispose()
    {
        Ca.Dispose();
        Server.Dispose();
        Client.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}
