using System.Globalization;
using System.Net;

namespace TraceSeal.Serve;

/// <summary>
/// Settings of `traceseal serve`. Defaults: loopback 127.0.0.1:3200 (Tempo's port), plain HTTP there, a random token.
/// A non-loopback address needs TLS: the token (and every trace) would otherwise cross the network in plaintext.
/// </summary>
internal sealed class ServeOptions
{
    public const string DefaultListen = "127.0.0.1:3200";

    public required IPEndPoint Listen { get; init; }

    /// <summary>PEM server certificate and key: HTTPS. Required for a non-loopback <see cref="Listen"/>.</summary>
    public string? TlsCertFile { get; init; }

    public string? TlsKeyFile { get; init; }

    /// <summary>PEM CA bundle: a client certificate it signed (clientAuth EKU) authenticates a request, as the token does.</summary>
    public string? ClientCaFile { get; init; }

    /// <summary>Only this tenant; null = every tenant in the store.</summary>
    public string? Tenant { get; init; }

    /// <summary>Concurrent store reads (each uses a core while it decrypts); more requests wait.</summary>
    public int MaxConcurrentReads { get; init; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>How long the tag, service and operation lists are reused before the store is read again.</summary>
    public TimeSpan CatalogTtl { get; init; } = TimeSpan.FromSeconds(30);

    public bool Tls => TlsCertFile is not null;

    /// <summary>Every problem at once, each naming its option and the fix.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if ((TlsCertFile is null) != (TlsKeyFile is null))
        {
            errors.Add("--tls-cert and --tls-key: give both (the PEM certificate and its unencrypted private key)");
        }

        if (!IPAddress.IsLoopback(Listen.Address) && TlsCertFile is null)
        {
            errors.Add($"--listen {Listen}: a non-loopback address needs TLS, or the token and every trace cross the network in plaintext; " +
                       "give --tls-cert and --tls-key, or listen on 127.0.0.1");
        }

        if (ClientCaFile is not null && TlsCertFile is null)
        {
            errors.Add("--client-ca: client certificates need TLS; give --tls-cert and --tls-key too");
        }

        return errors;
    }

    /// <summary>host:port with an IP literal or <c>localhost</c>; names are not resolved (the bind address must be unambiguous).</summary>
    public static IPEndPoint ParseListen(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        int colon = address.LastIndexOf(':');
        string host = colon > 0 ? address[..colon].Trim('[', ']') : string.Empty;
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > IPEndPoint.MaxPort)
        {
            throw new ArgumentException($"--listen: \"{address}\" is not host:port; use e.g. {DefaultListen}");
        }

        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }

        return IPAddress.TryParse(host, out var ip)
            ? new IPEndPoint(ip, port)
            : throw new ArgumentException($"--listen: \"{host}\" is not an IP address; use 127.0.0.1 (or an explicit interface address)");
    }
}
