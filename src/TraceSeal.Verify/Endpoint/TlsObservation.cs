using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Verify.Endpoint;

/// <summary>What one handshake showed. The server certificate is captured in the validation callback, so
/// it is known even when the handshake then fails (e.g. TLS 1.2 mTLS without a client certificate).</summary>
internal sealed class TlsObservation : IDisposable
{
    public X509Certificate2? Leaf { get; set; }

    /// <summary>Intermediates the server sent, for building the chain to the given CA.</summary>
    public X509Certificate2Collection Sent { get; } = [];

    public bool Completed { get; set; }

    public SslProtocols Protocol { get; set; }

    public string? Cipher { get; set; }

    public string? Alpn { get; set; }

    public string? Error { get; set; }

    public void Dispose()
    {
        Leaf?.Dispose();
        foreach (var certificate in Sent)
        {
            certificate.Dispose();
        }
    }
}
