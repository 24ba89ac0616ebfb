using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.OpenTelemetry.Transport;

/// <summary>
/// Decides whether a server certificate is acceptable. A pure function of its inputs, so it is unit-tested
/// without a handshake.
/// <para>With a configured CA the chain is rebuilt with <see cref="X509ChainTrustMode.CustomRootTrust"/> and only
/// that CA as a root: the verdict the runtime reached with the system store (the chain and the
/// <see cref="SslPolicyErrors.RemoteCertificateChainErrors"/> flag passed in) is never consulted, so a
/// certificate the system trusts but the configured CA did not sign is refused (upstream
/// opentelemetry-dotnet issue 6800 accepts it). The host name check is the runtime's
/// (<see cref="SslPolicyErrors.RemoteCertificateNameMismatch"/>) and always applies.</para>
/// </summary>
internal static class ServerCertificateValidator
{
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    /// <summary>Null when acceptable, else the failure and a message saying which certificate, which CA, what to do.</summary>
    public static SecureOtlpTlsException? Validate(
        X509Certificate? certificate,
        X509Chain? presentedChain,
        SslPolicyErrors errors,
        X509Certificate2Collection? pinnedRoots,
        string caSource,
        string host)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return new SecureOtlpTlsException(ServerCertificateFailure.NoCertificate, $"server {host} presented no certificate");
        }

        var leaf = certificate as X509Certificate2 ?? new X509Certificate2(certificate);
        try
        {
            if (pinnedRoots is not null)
            {
                string? chainProblem = BuildPinnedChain(leaf, presentedChain, pinnedRoots);
                if (chainProblem is not null)
                {
                    return new SecureOtlpTlsException(
                        ServerCertificateFailure.NotRootedAtConfiguredCa,
                        $"server certificate of {host} ({leaf.Subject}, issued by {leaf.Issuer}) does not chain to the CA configured in {caSource} ({Describe(pinnedRoots)}): {chainProblem}. Only that CA is trusted (the system trust store is never consulted); point {caSource} at the CA that signed the collector's certificate");
                }
            }
            else if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            {
                return new SecureOtlpTlsException(
                    ServerCertificateFailure.SystemTrustFailed,
                    $"server certificate of {host} ({leaf.Subject}, issued by {leaf.Issuer}) is not trusted by the system trust store; set OTEL_EXPORTER_OTLP_CERTIFICATE to the CA that signed it");
            }

            if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                return new SecureOtlpTlsException(
                    ServerCertificateFailure.HostnameMismatch,
                    $"server certificate {leaf.Subject} does not name the host '{host}' (its subject alternative names: {SubjectAltNames(leaf)}); connect with a name the certificate has, or reissue it with --hosts {host}");
            }

            return null;
        }
        finally
        {
            if (!ReferenceEquals(leaf, certificate))
            {
                leaf.Dispose();
            }
        }
    }

    private static string? BuildPinnedChain(X509Certificate2 leaf, X509Chain? presentedChain, X509Certificate2Collection pinnedRoots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(pinnedRoots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(ServerAuthOid));

        // Intermediates the server sent may help build the path; they are never roots.
        if (presentedChain is not null)
        {
            foreach (X509ChainElement element in presentedChain.ChainElements)
            {
                if (!element.Certificate.RawDataMemory.Span.SequenceEqual(leaf.RawDataMemory.Span))
                {
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }

            chain.ChainPolicy.ExtraStore.AddRange(presentedChain.ChainPolicy.ExtraStore);
        }

        if (chain.Build(leaf))
        {
            return null;
        }

        var statuses = chain.ChainStatus
            .Where(s => s.Status != X509ChainStatusFlags.NoError)
            .Select(s => s.Status == X509ChainStatusFlags.UntrustedRoot || s.Status == X509ChainStatusFlags.PartialChain
                ? "no path to the configured CA"
                : s.Status.ToString())
            .Distinct();
        return string.Join(", ", statuses);
    }

    private static string Describe(X509Certificate2Collection roots) =>
        string.Join("; ", roots.Select(r => r.Subject));

    internal static string SubjectAltNames(X509Certificate2 certificate)
    {
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                var names = san.EnumerateDnsNames().Concat(san.EnumerateIPAddresses().Select(ip => ip.ToString())).ToList();
                return names.Count == 0 ? "none" : string.Join(", ", names);
            }
        }

        return "none";
    }
}
