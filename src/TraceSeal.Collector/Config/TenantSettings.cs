namespace TraceSeal.Collector.Config;

// `tenants` and quotas (TraceSeal) of the `otlp` receiver, parsed by TenantParser; shared with Identity/.

/// <summary>Maps client identities (from the verified client certificate) to a tenant.</summary>
internal sealed class TenantRule
{
    public required string Tenant { get; init; }

    /// <summary>
    /// Identity patterns: `cn:NAME`, `dns:NAME`, `uri:URI`; a pattern without prefix matches the subject CN only.
    /// `*` matches any run of characters, e.g. `uri:spiffe://corp/ns/payments/*`.
    /// </summary>
    public required IReadOnlyList<string> Identities { get; init; }

    /// <summary>Null = <see cref="ReceiverLimitSettings.TenantQuota"/>.</summary>
    public TenantQuotaSettings? Quota { get; init; }
}

/// <summary>`quota` of a tenant rule, or `limits::tenant_quota` for tenants without one (TraceSeal). Null rate = unlimited.</summary>
internal sealed class TenantQuotaSettings
{
    public double? RequestsPerSecond { get; init; }
    public double? BytesPerSecond { get; init; }
    public double? ItemsPerSecond { get; init; }

    public bool IsUnlimited => RequestsPerSecond is null && BytesPerSecond is null && ItemsPerSecond is null;
}
