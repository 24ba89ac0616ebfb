namespace TraceSeal.Collector.Identity;

/// <summary>
/// What the tenant rules decided for one connection; computed once, right after the handshake, from the
/// verified client certificate, and reused by every request on that connection.
/// </summary>
internal sealed class TenantDecision
{
    public const string DefaultTenant = "default";
    public const string Anonymous = "anonymous";

    private TenantDecision(bool admitted, string tenant, string identity, string presented, string? refusal)
    {
        Admitted = admitted;
        Tenant = tenant;
        Identity = identity;
        Presented = presented;
        Refusal = refusal;
    }

    public bool Admitted { get; }

    /// <summary>Empty when not admitted.</summary>
    public string Tenant { get; }

    /// <summary>The identity that matched (or the preferred one when there are no rules), e.g. <c>uri:spiffe://...</c>.</summary>
    public string Identity { get; }

    /// <summary>
    /// All identities the client presented, comma separated and escaped (<see cref="IdentityText"/>), for refusal
    /// messages and logs (identities are not secret; raw control characters are never let through).
    /// </summary>
    public string Presented { get; }

    /// <summary>Why the client is refused (client-facing and logged, escaped); null when admitted.</summary>
    public string? Refusal { get; }

    public static TenantDecision Admit(string tenant, string identity, string presented) => new(true, tenant, identity, presented, null);

    /// <summary>No rule admits any of the identities.</summary>
    public static TenantDecision Deny(string presented) => new(false, string.Empty, string.Empty, presented, "no tenant rule admits the client identities: " + presented);

    /// <summary>The certificate itself is refused (<see cref="IdentityPolicy"/>), whatever the rules say.</summary>
    public static TenantDecision Refuse(string presented, string reason) => new(false, string.Empty, string.Empty, presented, reason);
}
