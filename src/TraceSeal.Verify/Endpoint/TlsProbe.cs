using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Verify.Endpoint;

/// <summary>One TLS 1.2/1.3 handshake with SslStream. Validation always "succeeds" here: the probe's job is
/// to see the certificate and report on it (CertificateChecks), not to refuse and see nothing.</summary>
internal static class TlsProbe
{
    /// <summary>Both, so the handshake never fails on ALPN: which one the server picks is an observation, not a precondition.</summary>
    public static readonly List<SslApplicationProtocol> AnyAlpn = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];

    public static async Task<TlsObservation> HandshakeAsync(EndpointTarget target, X509Certificate2? clientCertificate, TimeSpan timeout, CancellationToken ct,
        List<SslApplicationProtocol>? alpn = null)
    {
        var seen = new TlsObservation();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        using var tcp = await PlaintextProbe.ConnectAsync(target, cts.Token, ct).ConfigureAwait(false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = target.ServerName,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ApplicationProtocols = alpn ?? AnyAlpn,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
            {
                Capture(seen, certificate, chain);
                return true;
            },
        };
        if (clientCertificate is not null)
        {
            // A context is sent whatever CA list the server advertises, unlike ClientCertificates.
            options.ClientCertificateContext = SslStreamCertificateContext.Create(clientCertificate, additionalCertificates: null);
        }

        await using var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(options, cts.Token).ConfigureAwait(false);
            seen.Completed = true;
            seen.Protocol = ssl.SslProtocol;
            seen.Cipher = ssl.NegotiatedCipherSuite.ToString();
            seen.Alpn = ssl.NegotiatedApplicationProtocol.ToString();
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            seen.Error = $"no TLS handshake within {timeout.TotalSeconds:0.#}s";
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            seen.Error = ProbeErrors.Describe(e);
        }

        return seen;
    }

    private static void Capture(TlsObservation seen, X509Certificate? certificate, X509Chain? chain)
    {
        if (certificate is null || seen.Leaf is not null)
        {
            return;
        }

        seen.Leaf = new X509Certificate2(certificate);
        if (chain is null)
        {
            return;
        }

        // SslStream puts the certificates the peer sent (beyond the leaf) into the chain's ExtraStore.
        foreach (var sent in chain.ChainPolicy.ExtraStore)
        {
            seen.Sent.Add(new X509Certificate2(sent));
        }
    }
}
