using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Pki.Tests;

/// <summary>The point of the PKI: an in-memory IssuedCertificate works for mutual TLS with host name checks.</summary>
public class TlsHandshakeTests
{
    [Theory]
    [InlineData(KeyAlgorithm.EcdsaP256, "localhost")]
    [InlineData(KeyAlgorithm.Rsa2048, "127.0.0.1")]
    public async Task MutualTlsSucceedsWithCustomTrust(KeyAlgorithm algorithm, string targetHost)
    {
        using IssuedCertificate ca = DevPki.CreateCa(algorithm: algorithm);
        using IssuedCertificate server = DevPki.IssueServer(ca, "collector", ["localhost", "127.0.0.1"], algorithm);
        using IssuedCertificate client = DevPki.IssueClient(ca, "app", uris: ["spiffe://corp/ns/payments/sa/api"], algorithm: algorithm);

        (SslStream serverSide, SslStream clientSide) = await Handshake(ca, server, client, targetHost);
        using (serverSide)
        using (clientSide)
        {
            Assert.True(serverSide.IsMutuallyAuthenticated);
            Assert.Equal(["cn:app", "uri:spiffe://corp/ns/payments/sa/api"], CertificateIdentity.From(new X509Certificate2(serverSide.RemoteCertificate!)));
        }
    }

    [Fact]
    public async Task WrongHostNameIsRejectedByTheClient()
    {
        using IssuedCertificate ca = DevPki.CreateCa();
        using IssuedCertificate server = DevPki.IssueServer(ca, "collector", ["collector.internal"]);
        using IssuedCertificate client = DevPki.IssueClient(ca, "app");

        await Assert.ThrowsAsync<AuthenticationException>(() => Handshake(ca, server, client, "localhost"));
    }

    private static async Task<(SslStream Server, SslStream Client)> Handshake(IssuedCertificate ca, IssuedCertificate server, IssuedCertificate client, string targetHost)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var clientTcp = new TcpClient();
        Task connect = clientTcp.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        TcpClient serverTcp = await listener.AcceptTcpClientAsync();
        await connect;

        var serverSsl = new SslStream(serverTcp.GetStream(), leaveInnerStreamOpen: false);
        var clientSsl = new SslStream(clientTcp.GetStream(), leaveInnerStreamOpen: false);
        Task serverAuth = serverSsl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = server.Certificate,
            ClientCertificateRequired = true,
            CertificateChainPolicy = Trust(ca),
            EnabledSslProtocols = SslProtocols.Tls13 | SslProtocols.Tls12,
        });
        Task clientAuth = clientSsl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            ClientCertificates = [client.Certificate],
            CertificateChainPolicy = Trust(ca),
            EnabledSslProtocols = SslProtocols.Tls13 | SslProtocols.Tls12,
        });

        try
        {
            // Whichever side fails first, the other sees the connection drop; report the client's view.
            await clientAuth.WaitAsync(TimeSpan.FromSeconds(20));
            await serverAuth.WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch
        {
            serverSsl.Dispose();
            clientSsl.Dispose();
            throw;
        }

        return (serverSsl, clientSsl);
    }

    private static X509ChainPolicy Trust(IssuedCertificate ca)
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(ca.Certificate);
        return policy;
    }
}
