using System.Globalization;
using TraceSeal.Collector.Config;

namespace TraceSeal.Collector.Receivers;

/// <summary>A refusal by <see cref="TenantQuotas"/>: which rate the tenant is over, and when it is under again.</summary>
internal readonly record struct QuotaRefusal(string Message, TimeSpan RetryAfter);

/// <summary>
/// Per-tenant quotas of one receiver (a tenant rule's `quota`, else `limits::tenant_quota`): token buckets of
/// requests, bytes and items per second, each holding at most one second of its rate (the burst).
/// </summary>
/// <remarks>
/// <para><b>When each is checked.</b> A request is refused as soon as its tenant is known (before its body is read)
/// when any of the tenant's buckets is empty or in debt; otherwise it takes one request token. Its bytes (the
/// decompressed protobuf: what is validated and stored) and items (spans, data points, log records) are known
/// only once it is read and validated; they are then charged, and may push a bucket into debt, so a large request
/// is never refused for being larger than a second's worth, and the tenant's next requests wait until the debt is
/// paid. Over time a tenant gets its rate, no more.</para>
/// <para><b>The refusal</b> is retryable: gRPC RESOURCE_EXHAUSTED with RetryInfo, HTTP 429 with Retry-After (OTLP
/// spec, "Failures"), the delay being the time until the bucket is positive again. Other tenants' buckets are
/// untouched: one tenant cannot take the capacity of another.</para>
/// <para>Tenants are the rules' names plus <c>default</c>: the table is fixed at start, so no client can grow it.</para>
/// </remarks>
internal sealed class TenantQuotas
{
    private readonly Dictionary<string, TenantBuckets> _tenants = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public TenantQuotas(OtlpReceiverSettings settings, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _time = time ?? TimeProvider.System;
        TenantQuotaSettings? fallback = settings.Limits.TenantQuota;
        foreach (TenantRule rule in settings.Tenants)
        {
            if (!_tenants.ContainsKey(rule.Tenant) && (rule.Quota ?? fallback) is { IsUnlimited: false } quota)
            {
                _tenants[rule.Tenant] = new TenantBuckets(quota, _time);
            }
        }

        if (settings.Tenants.Count == 0 && fallback is { IsUnlimited: false })
        {
            _tenants[Identity.TenantDecision.DefaultTenant] = new TenantBuckets(fallback, _time);
        }
    }

    public bool IsEmpty => _tenants.Count == 0;

    /// <summary>Null = admitted (one request token taken); otherwise the retryable refusal.</summary>
    public QuotaRefusal? TryAdmit(string tenant)
    {
        return _tenants.TryGetValue(tenant, out TenantBuckets? buckets) ? buckets.TryAdmit(tenant) : null;
    }

    /// <summary>Charges a request's decompressed bytes and items once they are known.</summary>
    public void Charge(string tenant, long bytes, int items)
    {
        if (_tenants.TryGetValue(tenant, out TenantBuckets? buckets))
        {
            buckets.Bytes?.Charge(bytes);
            buckets.Items?.Charge(items);
        }
    }

    private sealed class TenantBuckets(TenantQuotaSettings quota, TimeProvider time)
    {
        public TokenBucket? Requests { get; } = quota.RequestsPerSecond is { } r ? new TokenBucket(r, time) : null;

        public TokenBucket? Bytes { get; } = quota.BytesPerSecond is { } b ? new TokenBucket(b, time) : null;

        public TokenBucket? Items { get; } = quota.ItemsPerSecond is { } i ? new TokenBucket(i, time) : null;

        public QuotaRefusal? TryAdmit(string tenant)
        {
            // Bytes and items first: they never take a token here, so a refused request leaves every bucket as it was.
            if (Bytes?.Deficit() is { } bytesWait)
            {
                return Refuse(tenant, "bytes_per_second", Bytes.Rate, bytesWait);
            }

            if (Items?.Deficit() is { } itemsWait)
            {
                return Refuse(tenant, "items_per_second", Items.Rate, itemsWait);
            }

            if (Requests?.TryTakeOne() is { } requestsWait)
            {
                return Refuse(tenant, "requests_per_second", Requests.Rate, requestsWait);
            }

            return null;
        }

        private static QuotaRefusal Refuse(string tenant, string key, double rate, TimeSpan wait) =>
            new($"tenant {tenant} is over its quota of {rate.ToString("0.##", CultureInfo.InvariantCulture)} {key.Replace('_', ' ')}; retry after the delay given", wait);
    }

    /// <summary>A token bucket with debt: capacity one second of <see cref="Rate"/>; charges may take it below zero.</summary>
    private sealed class TokenBucket(double rate, TimeProvider time)
    {
        /// <summary>Never report a retry delay below this: clients should not come back within milliseconds.</summary>
        private static readonly TimeSpan MinimumWait = TimeSpan.FromMilliseconds(100);

        private readonly Lock _lock = new();
        private double _tokens = Math.Max(rate, 1);
        private long _refilled = time.GetTimestamp();

        public double Rate { get; } = rate;

        private double Capacity => Math.Max(Rate, 1);

        /// <summary>Null when positive; otherwise how long until it is.</summary>
        public TimeSpan? Deficit()
        {
            lock (_lock)
            {
                Refill();
                return _tokens > 0 ? null : Wait(-_tokens + double.Epsilon);
            }
        }

        /// <summary>Null when a token was taken; otherwise how long until one is available.</summary>
        public TimeSpan? TryTakeOne()
        {
            lock (_lock)
            {
                Refill();
                if (_tokens >= 1)
                {
                    _tokens -= 1;
                    return null;
                }

                return Wait(1 - _tokens);
            }
        }

        public void Charge(double amount)
        {
            lock (_lock)
            {
                Refill();
                _tokens -= amount;
            }
        }

        private TimeSpan Wait(double missing)
        {
            TimeSpan wait = TimeSpan.FromSeconds(missing / Rate);
            return wait < MinimumWait ? MinimumWait : wait;
        }

        private void Refill()
        {
            long now = time.GetTimestamp();
            double elapsed = time.GetElapsedTime(_refilled, now).TotalSeconds;
            _refilled = now;
            _tokens = Math.Min(Capacity, _tokens + (elapsed * Rate));
        }
    }
}
