using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Collector.Tls;

/// <summary>
/// Verifies a client certificate against the client_ca_file bundle ONLY: no system store, no revocation
/// fetches (an online check would let a slow OCSP responder stall every handshake), clientAuth EKU required.
/// </summary>
internal static class ClientCertificateValidator
{
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    /// <summary>Null when the certificate is trusted for client authentication now; otherwise why not.</summary>
    public static HandshakeFailure? Validate(X509Certificate2? certificate, X509Certificate2Collection trustAnchors, X509Certificate2Collection? intermediates)
    {
        ArgumentNullException.ThrowIfNull(trustAnchors);
        if (certificate is null)
        {
            return HandshakeFailure.NoClientCertificate;
        }

        using var chain = new X509Chain();
        X509ChainPolicy policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(trustAnchors);
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.VerificationTimeIgnored = true; // "now", evaluated at each build
        policy.ApplicationPolicy.Add(ClientAuth);
        if (intermediates is not null)
        {
            policy.ExtraStore.AddRange(intermediates);
        }

        if (chain.Build(certificate))
        {
            return null;
        }

        X509ChainStatusFlags flags = X509ChainStatusFlags.NoError;
        foreach (X509ChainStatus status in chain.ChainStatus)
        {
            flags |= status.Status;
        }

        return Classify(flags, certificate.NotBefore.ToUniversalTime() > DateTime.UtcNow);
    }

    /// <summary>Chain status to the reason we count and log. Trust problems outrank time problems:
    /// an expired certificate from a foreign CA is reported as untrusted, the more useful hint.</summary>
    public static HandshakeFailure Classify(X509ChainStatusFlags flags, bool notYetValid)
    {
        if ((flags & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0)
        {
            return HandshakeFailure.UntrustedCa;
        }

        if ((flags & X509ChainStatusFlags.NotTimeValid) != 0)
        {
            return notYetValid ? HandshakeFailure.NotYetValid : HandshakeFailure.Expired;
        }

        if ((flags & X509ChainStatusFlags.NotValidForUsage) != 0)
        {
            return HandshakeFailure.WrongUsage;
        }

        return HandshakeFailure.InvalidCertificate;
    }
}
