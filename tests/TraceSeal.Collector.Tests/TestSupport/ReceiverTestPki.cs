using TraceSeal.Collector.Config;
using TraceSeal.Pki;

namespace TraceSeal.Collector.Tests.TestSupport;

/// <summary>A CA, a server certificate for localhost/127.0.0.1 and a client certificate, written to a temp directory.</summary>
internal sealed class ReceiverTestPki : IDisposable
{
    public const string ClientSpiffeId = "spiffe://corp/ns/payments/sa/api";

    public ReceiverTestPki()
    {
        Dir = Directory.CreateTempSubdirectory("traceseal-recv-").FullName;
        Ca = DevPki.CreateCa("Receiver Test CA");
        Server = DevPki.IssueServer(Ca, "localhost", ["localhost", "127.0.0.1"]);
        Client = DevPki.IssueClient(Ca, "payments-api", ["api.payments.example"], [ClientSpiffeId]);
        File.WriteAllText(CaPath, Ca.CertificatePem);
        Server.WriteFiles(ServerCertPath, ServerKeyPath);
    }

    public string Dir { get; }

    public IssuedCertificate Ca { get; }

    public IssuedCertificate Server { get; }

    public IssuedCertificate Client { get; }

    public string CaPath => Path.Combine(Dir, "ca.crt");

    public string ServerCertPath => Path.Combine(Dir, "server.crt");

    public string ServerKeyPath => Path.Combine(Dir, "server.key");

    public TlsServerSettings Tls(bool mutual = true, string minVersion = "1.2", TimeSpan? reloadInterval = null) => new()
    {
        CertFile = ServerCertPath,
        KeyFile = ServerKeyPath,
        ClientCaFile = mutual ? CaPath : null,
        MinVersion = minVersion,
        ReloadInterval = reloadInterval,
    };

    public void Dispose()
    {
        Ca.Dispose();
        Server.Dispose();
        Client.Dispose();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}
