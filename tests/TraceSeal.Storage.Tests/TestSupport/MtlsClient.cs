using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Storage.Tests.TestSupport;

/// <summary>
/// An HttpClient for a collector whose certificates `certs init` (DevPki.Init) wrote to one directory: it presents
/// client.crt and trusts ca.crt alone (no system roots, no revocation check).
/// </summary>
internal static class MtlsClient
{
    public static HttpClient Create(string certs, Version? version = null, TimeSpan? timeout = null)
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(certs, "ca.crt")));
        var client = X509Certificate2.CreateFromPemFile(Path.Combine(certs, "client.crt"), Path.Combine(certs, "client.key"));
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(ca);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions { ClientCertificates = [client], CertificateChainPolicy = policy },
            ConnectTimeout = TimeSpan.FromSeconds(5),
        };
        return new HttpClient(handler)
        {
            Timeout = timeout ?? TimeSpan.FromSeconds(15),
            DefaultRequestVersion = version ?? HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }
}
