using TraceSeal.Pki;

namespace TraceSeal.Interop.Tests.Infrastructure;

/// <summary>
/// Certificates made at test time with TraceSeal.Pki, under the names the seeds use: ca.crt, server.crt/key
/// (localhost, 127.0.0.1), client.crt/key (CN my-application), plus a client certificate from an unrelated
/// CA (rogue-client.crt/key) for the negative tests. Shared by the whole interop collection.
/// </summary>
public sealed class InteropPki : IDisposable
{
    public InteropPki()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("traceseal-interop-").FullName;

        using var ca = DevPki.CreateCa();
        File.WriteAllText(CaCertificate, ca.CertificatePem);
        using (var server = DevPki.IssueServer(ca, "localhost", ["localhost", "127.0.0.1"]))
        {
            server.WriteFiles(ServerCertificate, ServerKey);
        }

        using (var client = DevPki.IssueClient(ca, "my-application"))
        {
            client.WriteFiles(ClientCertificate, ClientKey);
        }

        // Same subject, different issuer: only the chain tells it apart.
        using var otherCa = DevPki.CreateCa("Some Other CA");
        using var rogue = DevPki.IssueClient(otherCa, "my-application");
        rogue.WriteFiles(RogueClientCertificate, RogueClientKey);
    }

    public string Directory { get; }

    public string CaCertificate => Path.Combine(Directory, "ca.crt");
    public string ServerCertificate => Path.Combine(Directory, "server.crt");
    public string ServerKey => Path.Combine(Directory, "server.key");
    public string ClientCertificate => Path.Combine(Directory, "client.crt");
    public string ClientKey => Path.Combine(Directory, "client.key");
    public string RogueClientCertificate => Path.Combine(Directory, "rogue-client.crt");
    public string RogueClientKey => Path.Combine(Directory, "rogue-client.key");

    /// <summary>A fresh working directory for one child process (its HOME and cwd).</summary>
    public string NewWorkDirectory() => System.IO.Directory.CreateDirectory(Path.Combine(Directory, "run-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless; never fail a run over it.
        }
    }
}

[CollectionDefinition(Name)]
public sealed class InteropCollection : ICollectionFixture<InteropPki>
{
    // One collection: the tests share the certificates and run one after another (child processes are heavy
    // on a two-core machine).
    public const string Name = "interop";
}
