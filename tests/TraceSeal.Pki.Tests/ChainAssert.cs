using System.Security.Cryptography.X509Certificates;

namespace TraceSeal.Pki.Tests;

internal static class ChainAssert
{
    /// <summary>Builds the chain against the CA alone (no system store, no revocation) and returns the flags seen.</summary>
    public static X509ChainStatusFlags Build(X509Certificate2 leaf, X509Certificate2 ca, DateTime? at = null)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (at is not null)
        {
            chain.ChainPolicy.VerificationTime = at.Value;
        }

        chain.Build(leaf);
        return chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
    }

    public static void Valid(X509Certificate2 leaf, X509Certificate2 ca) =>
        Assert.Equal(X509ChainStatusFlags.NoError, Build(leaf, ca));
}
