namespace TraceSeal.Collector.Identity;

/// <summary>
/// What the tenant rules decided for one connection; computed once, right after the handshake, from the
/// verified client certificate, and reused by every request on that connection.
/// </summary>
internal sealed class TenantDecision
{
    public const string DefaultTenant = "default";
    public const string Anonymous = "anonymous";

    private TenantDecision(bool admitted, string tenant, string identity, string presented)
    {
        Admitted = admitted;
        Tenant = tenant;
        Identity = identity;
        Presented = presented;
    }

    public bool Admitted { get; }

    /// <summary>Empty when not admitted.</summary>
    public string Tenant { get; }

    /// <summary>The identity that matched (or the preferred one when there are no rules), e.g. <c>uri:spiffe://...</c>.</summary>
    public string Identity { get; }

    /// <summary>All identities the client presented, comma separated, for refusal messages (identities are not secret).</summary>
    public string Presented { get; }

    public static TenantDecision Admit(string tenant, string identity, string presented) => new(true, tenant, identity, presented);

    public static TenantDecision Deny(string presented) => new(false, string.Empty, string.Empty, presented);
}
